"""The OpenAPI document: what it declares is what the service answers, and the committed
`openapi.json` is the document the API serves (so every API change shows in review)."""

import json

import jsonschema_rs

from app.domain.fulfillment.schemas import PrinterEvent, ShippingConfigCreate
from app.domain.issuance.schemas import BulkIssueGiftCardRequest
from app.domain.merchants.schemas import SecretRotation, TokenRequest
from app.domain.programs.schemas import ProgramCreate, ProgramUpdate
from scripts.export_schema import SCHEMA_FILE

PUBLIC = {("get", "/health"), ("get", "/ready"), ("post", "/v2/token"), ("get", "/metrics")}
# Routes added in parallel (H3, H4) until they declare `**documented(...)`: remove on merge.
NOT_YET_DOCUMENTED: set[str] = set()
# Every request body model, by its name in the document (a new body must be added here).
BODY_MODELS = {
    model.__name__: model
    for model in (
        ProgramCreate,
        ProgramUpdate,
        BulkIssueGiftCardRequest,
        ShippingConfigCreate,
        TokenRequest,
        SecretRotation,
        PrinterEvent,
    )
}


def _operations(spec: dict) -> list[tuple[str, str, dict]]:
    return [
        (method, path, op)
        for path, item in spec["paths"].items()
        for method, op in item.items()
        if method in ("get", "post", "put", "patch", "delete") and path not in NOT_YET_DOCUMENTED
    ]


async def test_committed_schema_is_the_served_one(anon):
    served = (await anon.get("/schema/openapi.json")).json()
    committed = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    assert served == committed, (
        "openapi.json is stale: run `.venv/bin/python -m scripts.export_schema` and commit it"
    )


async def test_errors_are_declared_with_the_contracts_bodies(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    for method, path, op in _operations(spec):
        responses = op["responses"]
        assert "400" not in responses, f"{method} {path} declares a 400 it never sends"
        public = (method, path) in PUBLIC or path == "/v2/fulfillment/events"
        if not public:
            assert {"401", "422", "503"} <= set(responses), f"{method} {path}"
            assert op.get("security") is None  # the document's default: the bearer token
        if "{" in path:
            assert "404" in responses, f"{method} {path}"
        if method == "post" and not public:
            names = [p["name"] for p in op.get("parameters", []) if p["in"] == "header"]
            assert "Idempotency-Key" in names, f"{method} {path}"
            assert "409" in responses
    ref = spec["paths"]["/v2/giftcards/programs"]["post"]["responses"]["401"]
    error = ref["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[-1]
    assert set(spec["components"]["schemas"][error]["required"]) == {"detail", "code"}


async def test_public_routes_and_the_printers_signature(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    for method, path in PUBLIC - {("get", "/metrics")}:
        assert spec["paths"][path][method]["security"] == [], f"{method} {path}"
    events = spec["paths"]["/v2/fulfillment/events"]["post"]
    assert events["security"] == [{"PrinterSignature": []}]
    scheme = spec["components"]["securitySchemes"]["PrinterSignature"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "X-Printer-Signature"}


async def test_response_headers_and_amounts(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    bulk = spec["paths"]["/v2/giftcards/programs/{programId}/cards/bulk"]["post"]["responses"]
    assert {"Location", "Idempotent-Replayed"} <= set(bulk["202"]["headers"])
    assert "Idempotent-Replayed" in bulk["201"]["headers"]
    assert "Retry-After" in bulk["503"]["headers"]
    assert "Retry-After" in bulk["202"]["headers"]  # the polling hint
    limits = {"RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset"}
    for status in ("201", "202", "422", "429"):
        assert limits <= set(bulk[status]["headers"]), status
    assert "Retry-After" in bulk["429"]["headers"]
    token = spec["paths"]["/v2/token"]["post"]["responses"]["200"]
    assert limits <= set(token["headers"])
    health = spec["paths"]["/health"]["get"]["responses"]["200"]
    assert not limits & set(health.get("headers") or {})
    amount = spec["components"]["schemas"]["BulkIssueGiftCardRequest"]["properties"]
    assert {s["type"] for s in amount["initialValue"]["oneOf"]} == {"number", "string"}
    task = spec["components"]["schemas"]["TaskOut"]["properties"]["status"]["$ref"]
    assert spec["components"]["schemas"][task.rsplit("/", 1)[-1]]["enum"]


def _body_models(schema: dict) -> list[str]:
    """The component names a request body's schema refers to (`oneOf` a model and null too)."""
    refs = [schema, *schema.get("oneOf", []), *schema.get("allOf", [])]
    return [ref["$ref"].rsplit("/", 1)[-1] for ref in refs if "$ref" in ref]


async def test_every_request_body_has_a_valid_example(anon):
    spec = (await anon.get("/schema/openapi.json")).json()
    components = spec["components"]
    checked = set()
    for method, path, op in _operations(spec):
        if "requestBody" not in op:
            continue
        schema = op["requestBody"]["content"]["application/json"]["schema"]
        [model] = _body_models(schema)
        examples = components["schemas"][model].get("examples")
        assert examples and len(examples) == 1, f"{method} {path}: no example for {model}"
        validator = jsonschema_rs.Draft202012Validator({**schema, "components": components})
        errors = [error.message for error in validator.iter_errors(examples[0])]
        assert not errors, f"{method} {path}: the example of {model} is invalid: {errors}"
        assert model in BODY_MODELS, f"{method} {path}: add {model} to BODY_MODELS"
        BODY_MODELS[model].model_validate(examples[0])  # the API accepts it too
        checked.add(model)
    assert checked == set(BODY_MODELS)


async def test_request_bodies_are_as_strict_as_the_api(anon, tenant):
    """No unknown field, and an optional field keeps its bounds (Litestar's `oneOf [T, null]`
    alone would drop them): a client validating against /schema refuses what the API refuses."""
    spec = (await anon.get("/schema/openapi.json")).json()
    schemas = spec["components"]["schemas"]
    for model in BODY_MODELS:
        assert schemas[model]["additionalProperties"] is False, model
    bulk = schemas["BulkIssueGiftCardRequest"]
    [count] = [s for s in bulk["properties"]["count"]["oneOf"] if s["type"] == "integer"]
    assert count["minimum"] == 1
    validator = jsonschema_rs.Draft202012Validator({**bulk, "components": spec["components"]})
    program = await tenant.create_program(name="Strict schema")
    for refused in ({"initialValue": "5.00", "count": 0}, {"initialValue": "5.00", "cnt": 5}):
        assert not validator.is_valid(refused)
        assert (await tenant.bulk(program["id"], refused)).status_code == 422

    events = spec["paths"]["/v2/fulfillment/events"]["post"]["requestBody"]["content"]
    body = events["application/json"]
    assert body["schema"]["$ref"].endswith("/PrinterEvent")
    event = jsonschema_rs.Draft202012Validator({**schemas["PrinterEvent"], **spec})
    assert event.is_valid(body["example"])
    assert not event.is_valid({**body["example"], "status": "LOST"})
