#!/usr/bin/python3
"""pycadf's verdict on each line of a CADF log file (the `file` sink's output).

Reads the file's lines on stdin and prints, for each line, one JSON object:
    {"valid": bool, "errors": [...], "warnings": [...], "event": {...}}
The line is parsed as JSON and loaded through pycadf's classes and validators
exactly as cadf_listener.py loads a notification's payload (valid event,
action and outcome from pycadf's taxonomies, round trip through as_dict()).
"""

import json
import sys

from cadf_listener import judge


def main():
    for line in sys.stdin:
        line = line.rstrip('\n')
        if not line:
            continue
        try:
            event = json.loads(line)
        except ValueError as e:
            print(json.dumps({'valid': False, 'event': None, 'warnings': [],
                              'errors': ['not JSON: %s' % e]}))
            continue
        verdict = judge(event)
        verdict['event'] = event
        print(json.dumps(verdict, sort_keys=True))


if __name__ == '__main__':
    main()
