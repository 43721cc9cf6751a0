"""`parity logs`: the logs of every container of an environment, merged in time order.

Pure code only (plain data in and out, unit-tested); the pod log API is read in cli/logs.py.
    sources.py  which containers of which pods, and their component (etcd, postgres, redis, ...)
    lines.py    one log line: the API's timestamp prefix, the level and trace id it carries
    filters.py  --since, --grep, --level, --trace
    merge.py    time-ordered merge of finished streams, and a reorder window for --follow
    render.py   text (prefixed, coloured per source) and JSON lines
"""
