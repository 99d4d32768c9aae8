from housejobs.cli.entry import main

main()
