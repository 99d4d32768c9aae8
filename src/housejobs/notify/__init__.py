"""Job outcome events, and the two sinks that hear about runs: a chat webhook and a cron monitor.

- `event`: who the run is (RunInfo), the outcome event, and which outcomes announce (notify_on);
- `formats`: the webhook bodies (json, slack, google-chat) and the check-in URLs and summaries;
- `delivery`: one POST to one sink, in a worker thread, inside the sink's time budget;
- `notifier`: which sinks a run has, and what goes to each when it starts and ends.

Only the standard library loads with this package; httpx loads when something is actually sent.
"""
