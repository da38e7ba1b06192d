"""``uv run --package durablerpc client --productId 1 --reservationId 1``: reserve a product.

Sends ``ProductService/<productId>/Reserve`` with the reservation id as idempotency key and
prints the answer (``true`` / ``false``). Repeating a reservation id prints its first answer.
"""

from __future__ import annotations

import argparse
import json
import sys

from common.ingress import Ingress, RestateHttpError
from durablerpc.settings import Settings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="client", description=__doc__.splitlines()[0])
    parser.add_argument("--productId", required=True, help="the product (object key)")
    parser.add_argument("--reservationId", required=True, help="idempotency key of this reservation")
    args = parser.parse_args(argv)
    ingress = Ingress(Settings().ingress_url)
    try:
        reserved = ingress.call(
            "ProductService", "Reserve", key=args.productId, idempotency_key=args.reservationId
        )
    except RestateHttpError as error:
        print(f"reservation failed: {error}", file=sys.stderr)
        return 1
    finally:
        ingress.close()
    print(json.dumps(reserved))
    return 0
