"""tierbot as a GitHub Action: one workflow event through the server's router, state in GitHub."""
