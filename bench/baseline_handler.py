"""The floor any Python gateway pays: boto3, a bedrock-runtime client created at import, one Converse call."""

import json

import boto3

client = boto3.client("bedrock-runtime")


def lambda_handler(event, context):  # noqa: ANN001, ANN201 - deliberately bare
    prompt = json.loads(event["body"])["prompt"]
    response = client.converse(
        modelId="amazon.nova-micro-v1:0",
        messages=[{"role": "user", "content": [{"text": prompt}]}],
        inferenceConfig={"maxTokens": 256},
    )
    return {"statusCode": 200, "body": json.dumps({"output": response["output"]["message"]["content"][0]["text"]})}
