"""The pages' server-side sessions: records in their own DynamoDB table (store.py), nothing Flask-specific."""
