#!/usr/bin/env python3
"""Writes examples/demo.jsonl: nine days of routine activity by a few non-human identities across
CloudTrail, Azure Activity, Okta and GitHub, then a handful of misuse events. Deterministic.
Addresses are from the invented networks of examples/geoip/NETWORKS.tsv."""
import json, datetime, os

ACCT = "111122223333"
TENANT = "72f988bf-0000-4000-8000-00000000demo"
out = []
def ts(day, minute):
    t = datetime.datetime(2024, 3, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(days=day, minutes=minute)
    return t
def iso(t, frac=False):
    return t.strftime("%Y-%m-%dT%H:%M:%S") + (".000Z" if frac else "Z")
n = 0
def eid():
    global n; n += 1; return f"demo-{n:06d}"

def ct(t, role, session, ip, ua, src, name, key="ASIADEMOKEY00000001", params=None):
    return {"eventVersion": "1.08", "userIdentity": {"type": "AssumedRole", "principalId": f"AROADEMO:{session}",
        "arn": f"arn:aws:sts::{ACCT}:assumed-role/{role}/{session}", "accountId": ACCT, "accessKeyId": key,
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROADEMO", "arn": f"arn:aws:iam::{ACCT}:role/{role}",
        "accountId": ACCT, "userName": role}, "attributes": {"creationDate": iso(t), "mfaAuthenticated": "false"}}},
        "eventTime": iso(t), "eventSource": f"{src}.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": ip, "userAgent": ua, "requestParameters": params, "responseElements": None,
        "eventID": eid(), "readOnly": True, "eventType": "AwsApiCall", "managementEvent": True, "recipientAccountId": ACCT}

def okta(t, client, ip, country, city):
    return {"uuid": eid(), "published": iso(t, True), "eventType": "app.oauth2.as.token.grant.access_token",
        "version": "0", "severity": "INFO", "displayMessage": "OAuth2 access token is granted",
        "actor": {"id": client, "type": "PublicClientApp", "alternateId": client, "displayName": "billing-sync"},
        "client": {"userAgent": {"rawUserAgent": "okhttp/4.12.0", "os": "Unknown", "browser": "UNKNOWN"}, "ipAddress": ip,
        "geographicalContext": {"country": country, "city": city}}, "outcome": {"result": "SUCCESS"},
        "debugContext": {"debugData": {"grantType": "client_credentials"}}}

def gh(t, actor, ip, ua, action, repo):
    return {"@timestamp": int(t.timestamp() * 1000), "_document_id": eid(), "action": action, "actor": actor,
        "actor_ip": ip, "user_agent": ua, "programmatic_access_type": "GitHub App server-to-server token",
        "token_id": 4242, "org": "demo-org", "repo": repo, "actor_is_bot": True}

def az(t, appid, ip, op, rid):
    return {"time": iso(t)[:-1] + ".0000000Z", "resourceId": rid, "operationName": op, "category": "Administrative",
        "resultType": "Success", "callerIpAddress": ip, "correlationId": eid(), "level": "Information", "location": "global",
        "identity": {"claims": {"appid": appid, "idtyp": "app",
            "http://schemas.microsoft.com/identity/claims/tenantid": TENANT,
            "http://schemas.microsoft.com/identity/claims/objectidentifier": "0b1ec7-demo"}}, "tenantId": TENANT}

BOTO = "Boto3/1.34.12 md/Botocore#1.34.12 ua/2.0 os/linux#5.10 lang/python#3.11.6"
SSM = "aws-sdk-go/1.44.294 (go1.20.5; linux; amd64) amazon-ssm-agent/3.2.1241.0"
RID = "/subscriptions/0000/resourceGroups/data/providers/Microsoft.Storage/storageAccounts/demodata"
for day in range(9):
    for h in range(0, 24, 3):
        m = h * 60
        out.append(ct(ts(day, m), "etl-loader", "etl-job", "3.5.1.10", BOTO, "s3", "GetObject", params={"bucketName": "etl-input"}))
        out.append(ct(ts(day, m + 5), "etl-loader", "etl-job", "3.5.1.10", BOTO, "s3", "PutObject", params={"bucketName": "etl-output"}))
        out.append(okta(ts(day, m + 7), "0oademo1billingsync", "73.20.30.40", "United States", "Denver"))
        out.append(gh(ts(day, m + 9), "deploy-bot[bot]", "140.82.114.5", "Faraday v2.9.0", "git.fetch", "demo-org/api"))
        out.append(az(ts(day, m + 11), "a1b2c3d4-demo-app", "20.1.2.3", "Microsoft.Compute/virtualMachines/read", RID))
# An EC2 instance session, used by its agent.
for k in range(3):
    out.append(ct(ts(8, 600 + k * 5), "app-server", "i-0a1b2c3d4e5f60718", "52.20.1.9", SSM, "ssm", "UpdateInstanceInformation"))
# Day 8, 10:20 onwards: misuse.
out.append(ct(ts(8, 620), "app-server", "i-0a1b2c3d4e5f60718", "185.220.100.7",
    "aws-cli/2.15.0 Python/3.11.6 Linux/6.5.0-kali3-amd64 exe/x86_64.kali", "sts", "GetCallerIdentity"))
out.append(ct(ts(8, 640), "etl-loader", "etl-job", "45.135.232.10", "curl/8.5.0", "secretsmanager", "ListSecrets"))
out.append(okta(ts(8, 650), "0oademo1billingsync", "5.188.10.20", "Russia", "Saint Petersburg"))
out.append(gh(ts(8, 660), "deploy-bot[bot]", "103.251.166.7", "git/2.43.0", "git.clone", "demo-org/payments"))
out.append(az(ts(8, 670), "a1b2c3d4-demo-app", "196.251.72.9", "Microsoft.Storage/storageAccounts/listKeys/action", RID))
out.sort(key=lambda r: r.get("eventTime") or r.get("published") or r.get("time") or datetime.datetime.fromtimestamp(r["@timestamp"] / 1000, datetime.timezone.utc).isoformat())
path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "demo.jsonl")
with open(path, "w") as f:
    for r in out:
        f.write(json.dumps(r, separators=(",", ":")) + "\n")
print(f"wrote {len(out)} records to {path}")
