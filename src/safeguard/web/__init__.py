"""The moderator console: server-rendered pages under /console (Jinja2, no build step)."""
