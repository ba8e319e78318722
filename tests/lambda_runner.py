"""Runs in a fresh process with only an unzipped Zappa package and the Lambda runtime's boto3 on sys.path.

Reads a JSON list of API Gateway events on stdin and prints one JSON line per response, each as soon as
it is ready, so the parent can time the cold start (process start to first response)."""

import json
import sys

from handler import lambda_handler

for event in json.load(sys.stdin):
    # Zappa prints to stdout too ("Instancing.."): mark our lines.
    print("RESPONSE " + json.dumps(lambda_handler(event, None)), flush=True)
