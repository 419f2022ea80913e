"""HTTP: the WSGI app (composition root), route table, routing, handlers, bodies, responses, schemas, OpenAPI."""
