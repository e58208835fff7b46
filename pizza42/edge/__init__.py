"""What the nginx edge (deploy/nginx/) takes from the app's settings, so the two can never disagree.

Run at install or start-up on the instance, never in a request: `python -m pizza42.edge.cors OUTPUT`.
"""
