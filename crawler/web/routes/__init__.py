"""The web interface's routers: the HTML pages, the JSON API behind them, the Atom feeds."""
