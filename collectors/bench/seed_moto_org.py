"""Seeds a moto AWS Organizations emulator with N accounts spread over nested OUs, some
tagged, some suspended. Used by aws-org.sh to measure a collection; not a test."""
import sys

import boto3

url, count = sys.argv[1], int(sys.argv[2])
client = boto3.client(
    "organizations", endpoint_url=url, region_name="us-east-1",
    aws_access_key_id="testing", aws_secret_access_key="testing",
)
client.create_organization(FeatureSet="ALL")
root = client.list_roots()["Roots"][0]["Id"]
ous = []
for team in range(10):
    parent = client.create_organizational_unit(ParentId=root, Name=f"Team{team}")["OrganizationalUnit"]["Id"]
    for env in ("Prod", "Staging"):
        ous.append(client.create_organizational_unit(ParentId=parent, Name=env)["OrganizationalUnit"]["Id"])
for n in range(count - 1):
    tags = [{"Key": "owner", "Value": f"team-{n % 10}"}, {"Key": "cost-center", "Value": f"cc-{n % 37}"}] if n % 3 else []
    account = client.create_account(Email=f"acct{n}@example.com", AccountName=f"account-{n}", Tags=tags)
    account_id = account["CreateAccountStatus"]["AccountId"]
    client.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=ous[n % len(ous)])
    if n % 50 == 0:
        client.close_account(AccountId=account_id)
print(f"seeded {count} accounts")
