#!/usr/bin/env python3
"""Writes hostile CloudTrail floods (JSON lines) for the memory-budget tests and benchmarks.

  hostile-input.py identities N   N distinct IAM users, one successful call each
  hostile-input.py outsiders N    N principals of another account, random session names, every
                                  call refused (what an outside account's denied calls put in a trail)
  hostile-input.py values N       one identity reading N random 2 KB secret ids

Records are dated one second apart from 2026-01-01 (no future-dated jumps), written to stdout.
Deterministic (seeded), so runs compare."""
import json
import random
import sys
import time

BASE = 1767225600  # 2026-01-01T00:00:00Z


def when(i):
    t = BASE + i
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))


def user(i, rnd):
    name = "u-%08x-%d" % (rnd.getrandbits(32), i)
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDA%016X" % i,
                         "arn": "arn:aws:iam::111122223333:user/" + name,
                         "accountId": "111122223333", "accessKeyId": "AKIA%016X" % i,
                         "userName": name},
        "eventTime": when(i), "eventSource": "sts.amazonaws.com",
        "eventName": "GetCallerIdentity", "awsRegion": "us-east-1",
        "sourceIPAddress": "3.5.%d.%d" % (i % 200, i % 250 + 1),
        "userAgent": "aws-cli/2.15.30", "requestParameters": None, "responseElements": None,
        "eventID": "%032x" % i, "readOnly": True, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


def outsider(i, rnd):
    session = "%016x" % rnd.getrandbits(64)
    return {
        "eventVersion": "1.08",
        # How CloudTrail records another account's principal calling into this one: the
        # principal id carries the caller's session name, which the caller chooses.
        "userIdentity": {"type": "AWSAccount", "principalId": "AROAOUTSIDE:" + session,
                         "accountId": "999988887777"},
        "eventTime": when(i), "eventSource": "s3.amazonaws.com", "eventName": "ListBuckets",
        "awsRegion": "us-east-1", "sourceIPAddress": "198.51.100.%d" % (i % 250 + 1),
        "userAgent": "Boto3/1.34.12", "errorCode": "AccessDenied",
        "errorMessage": "not authorized", "requestParameters": None, "responseElements": None,
        "eventID": "%032x" % i, "readOnly": True, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


def value(i, rnd):
    secret = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz0123456789") for _ in range(2048))
    return {
        "eventVersion": "1.08",
        "userIdentity": {"type": "IAMUser", "principalId": "AIDAREADER",
                         "arn": "arn:aws:iam::111122223333:user/reader",
                         "accountId": "111122223333", "accessKeyId": "AKIAREADER",
                         "userName": "reader"},
        "eventTime": when(i), "eventSource": "secretsmanager.amazonaws.com",
        "eventName": "GetSecretValue", "awsRegion": "us-east-1",
        "sourceIPAddress": "3.5.1.10", "userAgent": "aws-cli/2.15.30",
        "requestParameters": {"secretId": secret}, "responseElements": None,
        "eventID": "%032x" % i, "readOnly": True, "eventType": "AwsApiCall",
        "recipientAccountId": "111122223333",
    }


def main():
    if len(sys.argv) != 3 or sys.argv[1] not in ("identities", "outsiders", "values"):
        sys.exit(__doc__)
    make = {"identities": user, "outsiders": outsider, "values": value}[sys.argv[1]]
    n = int(sys.argv[2])
    rnd = random.Random(15)
    out = sys.stdout
    for i in range(n):
        out.write(json.dumps(make(i, rnd), separators=(",", ":")))
        out.write("\n")


if __name__ == "__main__":
    main()
