"""The interactive web page (``gradscape serve``): a FastAPI app over the library.

A view like the CLI: each handler parses a request, calls the same library function the CLI verb
calls and returns the result's JSON; no maths lives here. Long work runs as a job in its own
thread and streams its progress to the page (server-sent events); the page can cancel it.
"""
