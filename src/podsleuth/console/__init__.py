"""The incident console: web pages over the store the watcher writes.

``podsleuth ui`` serves it over any store; ``podsleuth watch --ui-port N`` serves it from a
running watcher. Pages: the incident list (filters in the URL, live updates), one page per
incident at ``/incidents/<id>``, one per node, and silences. See docs/console.md.
"""
