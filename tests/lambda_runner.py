"""Runs in a fresh process with only an unzipped Zappa package and the Lambda runtime's boto3 on sys.path.

Reads a JSON list of API Gateway events on stdin and prints, for each, "RESPONSE <seconds in the handler>
<response as JSON>" as soon as it is ready, so the parent can time the cold start as well."""

import json
import sys
import time

from handler import lambda_handler


class Context:
    """The part of Lambda's context object the app reads: each invocation's request id."""

    def __init__(self, number: int) -> None:
        self.aws_request_id = f"lambda-{number}"


for number, event in enumerate(json.load(sys.stdin), 1):
    start = time.perf_counter()
    response = lambda_handler(event, Context(number))
    # Zappa prints to stdout too ("Instancing.."): mark our lines.
    print("RESPONSE", time.perf_counter() - start, json.dumps(response), flush=True)
