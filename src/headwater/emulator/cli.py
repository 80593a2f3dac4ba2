"""``headwater emulator hubspot``: serve the HubSpot emulator until SIGINT/SIGTERM."""

from __future__ import annotations

import json
import time
from typing import Annotated, NoReturn

import typer

emulator_app = typer.Typer(no_args_is_help=True, help="Bundled API emulators for tests and demos.")


def _usage_error(message: str) -> NoReturn:
    typer.echo(f"Error: {message}", err=True)
    raise typer.Exit(2)


@emulator_app.command("hubspot")
def hubspot(
    port: Annotated[int, typer.Option(help="Port to listen on (0 picks a free one).")] = 8090,
    host: Annotated[str, typer.Option(help="Interface to bind.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the generated portal.")] = 42,
    contacts: Annotated[
        int, typer.Option(min=0, help="Live contacts (archived ones come on top).")
    ] = 20_000,
    companies: Annotated[int, typer.Option(min=0, help="Live companies.")] = 2_000,
    deals: Annotated[int, typer.Option(min=0, help="Live deals.")] = 5_000,
    tickets: Annotated[int, typer.Option(min=0, help="Live tickets.")] = 3_000,
    products: Annotated[int, typer.Option(min=0, help="Live products.")] = 200,
    line_items: Annotated[
        int, typer.Option("--line-items", min=0, help="Live line items.")
    ] = 5_000,
    engagements: Annotated[
        int, typer.Option(min=0, help="Calls, emails, meetings, notes and tasks (each).")
    ] = 2_000,
    custom_records: Annotated[
        int, typer.Option("--custom-records", min=0, help="Records of the custom object.")
    ] = 500,
    extra_records: Annotated[
        int,
        typer.Option(
            "--extra-records",
            min=0,
            help="Records of each other standard object (quotes, leads, goals, ...).",
        ),
    ] = 200,
    rate_limit: Annotated[
        str, typer.Option("--rate-limit", help="none | oauth-app | private-app")
    ] = "none",
    burst_limit: Annotated[
        int | None, typer.Option("--burst-limit", help="Override the 10-second budget.")
    ] = None,
    daily_limit: Annotated[
        int | None, typer.Option("--daily-limit", help="Enforce a daily quota.")
    ] = None,
    retry_after: Annotated[
        bool, typer.Option("--retry-after/--no-retry-after", help="Send Retry-After on 429s.")
    ] = False,
    legacy_v1: Annotated[
        bool,
        typer.Option(
            "--legacy-v1/--no-legacy-v1",
            help="Keep serving the sunset v1 Pipelines and Contact Lists reads (404 without, as at HubSpot).",
        ),
    ] = False,
    token_ttl: Annotated[
        int, typer.Option("--token-ttl", min=1, help="OAuth access-token lifetime (s).")
    ] = 1800,
    search_index_lag_ms: Annotated[
        int | None,
        typer.Option(
            "--search-index-lag-ms",
            min=0,
            help="Milliseconds before a write reaches search; GET and list see it at once.  "
            "[default: 1000, HubSpot's usual lag]",
        ),
    ] = None,
    indexing_delay: Annotated[
        float | None,
        typer.Option("--indexing-delay", min=0, hidden=True, help="Seconds; an older spelling."),
    ] = None,
    faults: Annotated[
        str, typer.Option(help='Fault plan, e.g. "429:0.02,503:0.01,latency:20ms,reset:0.001".')
    ] = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one machine-readable JSON line.")
    ] = False,
) -> None:
    """Serve an emulated HubSpot portal, print its base URL and credentials, then serve until stopped."""
    # imported here so that every other headwater command starts fast
    from headwater.emulator.hubspot.app import create_app
    from headwater.emulator.hubspot.config import EmulatorConfig
    from headwater.emulator.hubspot.faults import FaultPlan
    from headwater.emulator.hubspot.limits import RATE_LIMIT_MODES
    from headwater.emulator.hubspot.server import serve_forever

    if rate_limit not in RATE_LIMIT_MODES:
        _usage_error(
            f"--rate-limit must be one of {', '.join(RATE_LIMIT_MODES)}, not {rate_limit!r}"
        )
    try:
        plan = FaultPlan.parse(faults, seed=seed)
    except ValueError as exc:
        _usage_error(f"--faults: {exc}")
    if search_index_lag_ms is None:
        search_index_lag_ms = EmulatorConfig.search_index_lag_ms
    config = EmulatorConfig(
        seed=seed,
        contacts=contacts,
        companies=companies,
        deals=deals,
        tickets=tickets,
        products=products,
        line_items=line_items,
        engagements=engagements,
        custom_records=custom_records,
        extra_records=extra_records,
        rate_limit=rate_limit,
        burst_limit=burst_limit,
        daily_limit=daily_limit,
        retry_after=retry_after,
        legacy_v1=legacy_v1,
        token_ttl=token_ttl,
        search_index_lag_ms=search_index_lag_ms,
        indexing_delay=indexing_delay,
        faults=plan,
        host=host,
        port=port,
    )
    started = time.perf_counter()
    app = create_app(config)
    build_s = time.perf_counter() - started

    def ready(bound_port: int) -> None:
        base_url = f"http://{host}:{bound_port}"
        info = {"base_url": base_url, **app.info(), "startup_seconds": round(build_s, 3)}
        if as_json:
            typer.echo(json.dumps(info), nl=True)
        else:
            typer.echo(
                f"HubSpot emulator listening on {base_url}  (portal {info['portal_id']}, built in {build_s:.2f} s)"
            )
            typer.echo(f"  OAuth client id:     {info['oauth_client_id']}")
            typer.echo(f"  OAuth client secret: {info['oauth_client_secret']}")
            typer.echo(f"  OAuth refresh token: {info['refresh_token']}")
            typer.echo(f"  Private-app token:   {info['private_app_token']}")
            typer.echo(f"  Service key:         {info['service_key']}")
            archived = info["archived"]
            typer.echo(
                "  Records (live, + archived): "
                + ", ".join(
                    f"{k}={v} (+{archived[k]})"
                    for k, v in info["records"].items()
                    if v or archived[k]
                )
            )
            typer.echo(f"  Search index lag: {config.search_lag_ms} ms")
            typer.echo(
                f"  Admin: {base_url}/_emulator/info  (touch, archive, clock, faults, stats)"
            )
        import sys

        sys.stdout.flush()

    serve_forever(app, host, port, on_ready=ready)
