from housejobs.cli.main import main

main()
