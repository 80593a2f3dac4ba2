"""What a person can do about each run error code (the same table as docs/troubleshooting.md, in
words that fit any source)."""

from __future__ import annotations

ADVICE = {
    "CONNECTOR-2401-401": "The source refused the account's credentials (revoked, expired or missing "
    "scopes). Edit the account's credentials or connect it again, then run the "
    "dataflow again.",
    "CONNECTOR-2403-403": "A table of this dataflow needs a scope that the account was "
    "not granted (the message names both). Grant the scope to the app, private app or service key, "
    "or take the table out of the dataflow; the account's other tables read as before.",
    "CONNECTOR-2400-400": "The source refused a request for good. The message has its answer; "
    "fix what it names and run again.",
    "CONNECTOR-2502-502": "The source (or a proxy in front of it) answered with something that "
    "is not one of its pages: not JSON, or a field of the wrong type. Nothing was written; run again, "
    "and if it repeats, the message shows the request that got the answer.",
    "CONNECTOR-2413-413": "The source answered with a page larger than Headwater accepts (the message "
    "names the limit). Nothing was written; read fewer columns (every page carries each column "
    "read) and run again.",
    "CONNECTOR-2508-508": "The source's paging did not advance (the same cursor again, or new cursors "
    "to empty pages without end). Nothing was written; run again, and report it if it repeats.",
    "CONNECTOR-2503-503": "The source was unavailable or throttling. Headwater retries from the last "
    "checkpoint by itself (up to 5 attempts); nothing to do unless it keeps failing.",
    "CONNECTOR-1101-404": "The dataflow's account, source, target or dataset was deleted. Recreate "
    "it, or delete this dataflow.",
    "INGEST-1212-400": "The lake refused some records (a column changed type, or records had no "
    "primary key). Send the table to a new dataset, or fix the source.",
    "ENGINE-3409-409": "Another worker took the run over and finishes it. Nothing to do.",
    "ENGINE-1102-500": "Something unexpected failed inside the worker. The worker log has the "
    "details under this run's id; run the dataflow again once it is fixed.",
}


def what_to_do(code: str) -> str:
    if code in ADVICE:
        return ADVICE[code]
    if code.startswith("CONNECTOR-"):
        return "The source refused or failed. The message says why; fix it and run again."
    return "Read the message, fix what it names, and run the dataflow again."
