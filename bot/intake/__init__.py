"""The webhook edge: the web process (web.py) and the checks a delivery passes (validate.py)."""
