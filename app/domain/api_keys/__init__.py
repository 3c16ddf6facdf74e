"""A merchant's API keys: at most two active at once, so a key can be rotated without downtime
(create the new one, switch the clients, revoke the old one)."""
