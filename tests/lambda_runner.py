"""Runs in a fresh process with only an unzipped Zappa package and the Lambda runtime's boto3 on sys.path.

Reads a JSON list of API Gateway events on stdin and prints, for each, "RESPONSE <seconds in the handler>
<response as JSON>" as soon as it is ready, so the parent can time the cold start as well."""

import json
import sys
import time

from handler import lambda_handler

for event in json.load(sys.stdin):
    start = time.perf_counter()
    response = lambda_handler(event, None)
    # Zappa prints to stdout too ("Instancing.."): mark our lines.
    print("RESPONSE", time.perf_counter() - start, json.dumps(response), flush=True)
