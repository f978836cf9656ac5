"""Serve the fake until Ctrl-C, so a human can run the app against it."""

import argparse
import threading

from .fake import DEFAULT_ACCOUNT_ID, DEFAULT_TOKEN, FakeWorkersAI


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m tests.fake_workers_ai", description=__doc__)
    parser.add_argument("--port", type=int, default=8787)
    parser.add_argument("--account-id", default=DEFAULT_ACCOUNT_ID)
    parser.add_argument("--token", default=DEFAULT_TOKEN)
    parser.add_argument("--gateway-token", help="require this cf-aig-authorization token on gateway routes")
    args = parser.parse_args()
    fake = FakeWorkersAI(args.account_id, args.token, port=args.port, log=True)
    fake.gateway_token = args.gateway_token
    print(fake.base_url, flush=True)
    print(f"AI Gateway: {fake.gateway_url}/{args.account_id}/<gateway_id>/workers-ai/<model>", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        fake.close()


if __name__ == "__main__":
    main()
