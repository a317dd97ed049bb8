"""Local rehearsal of the `live` alias rollout: what `sam local` lacks (aliases, weights, versions).

    moto_server (Lambda control plane: function, versions 1 and 2, alias `live`)
        ^ get_alias (cached <= 1 s)            ^ python -m tools.rollout --endpoint-url ...
        |                                      |
    gateway (API Gateway stand-in) --picks a version by weight--> sam local start-lambda, one per version

Modules: control_plane (moto_server, seeded), lambdas (start/stop one start-lambda), events (API Gateway
proxy event in, proxy answer out), gateway (weighted routing), metrics (per-version Lambda metrics into
moto), traffic (send requests, tally the split), stack (all of it, started and stopped as one),
__main__ (CLI: `python -m local.rehearsal up | sample`).
"""
