"""Wire formats (Pydantic): what clients send and receive, in one package.

`events` is the event envelope and the `data` of each type: the API, `joinup import` and the
HMPPS intake all validate through it. `api` has the API's answers and small request bodies,
`notifications` those of subscriptions and the change feed. They build on the domain alone
(its vocabularies and types), so the services may use them as well as the routes.
"""
