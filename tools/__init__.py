"""Operator and development tools (never shipped in a Lambda function or layer)."""
