//! The OpenAPI 3 description of `/v1`, served at `GET /v1/openapi.json`: one table of the
//! routes, with each body's schema taken from the type the hub parses or answers with
//! (`backchannel_core::api`, derived with `utoipa`) and each refusal's status and code from
//! [`ApiError`] itself. docs/protocol.md says the same in prose; tests/openapi.rs checks the
//! table against the router and the prose, and CI fuzzes a running hub from it (docs/hub.md).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::LazyLock;

use axum::http::header::CONTENT_TYPE;
use axum::response::IntoResponse;
use backchannel_core::api::schema::{Schemas, integer, named, object};
use backchannel_core::api::{
    ChannelInfo, Channels, ClaimKeyPackage, ClaimedKeyPackage, CreateCase, CreateChannel,
    CreateInvite, Entries, ErrorBody, Health, Join, KeyPackagesStored, MAX_LIST, Member, Members,
    PostEntry, Posted, RevokeInvite, UploadKeyPackages, Welcomes,
};
use backchannel_core::witness::{Cosigned, WitnessHeads, WitnessKey, WitnessSubmitters};
use backchannel_core::{CaseId, HubChannel};
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, Paths, RefOr,
    Required, ResponseBuilder, Schema,
};
use utoipa::{PartialSchema, ToSchema};

use crate::error::ApiError;
use crate::witness::{Register, Submitters};

/// The path of the description itself.
pub const PATH: &str = "/v1/openapi.json";

/// The name of the security scheme of signed requests.
const SIGNED: &str = "signed_request";

/// A schema, and those it refers to gathered into `Schemas`.
type Body = fn(&mut Schemas) -> RefOr<Schema>;

/// One route of `/v1`, as the router serves it.
struct Route {
    method: HttpMethod,
    /// The path as the router has it: `{name}` for a parameter.
    path: &'static str,
    summary: &'static str,
    /// Whether the request carries a signed `Authorization` header.
    signed: bool,
    request: Option<Body>,
    query: &'static [Query],
    /// The status of success and what it answers (`None`: no body).
    answer: (u16, Option<Body>),
    /// The refusals of this route beyond those every route of its kind shares
    /// ([`Route::refusals`]).
    refusals: Vec<ApiError>,
}

/// An optional integer in the query: its name, description, and smallest and largest values.
type Query = (&'static str, &'static str, u64, u64);

const AFTER: Query = (
    "after",
    "Only what follows this position (default 0).",
    0,
    i64::MAX as u64,
);
const LIMIT: Query = (
    "limit",
    "At most this many (default 100, `DEFAULT_LIMIT`).",
    1,
    MAX_LIST as u64,
);

fn empty_object(_: &mut Schemas) -> RefOr<Schema> {
    object("An empty object.", vec![])
}

fn any_object(_: &mut Schemas) -> RefOr<Schema> {
    ObjectBuilder::new().schema_type(Type::Object).into()
}

/// Every route of `/v1`: what docs/protocol.md's headings name, in its order.
fn routes() -> Vec<Route> {
    use ApiError::*;
    use HttpMethod::{Get, Post};
    let route = |method, path, summary, signed| Route {
        method,
        path,
        summary,
        signed,
        request: None,
        query: &[],
        answer: (200, None),
        refusals: vec![],
    };
    vec![
        Route {
            answer: (200, Some(named::<Health>)),
            ..route(
                Get,
                "/v1/health",
                "Whether the hub is up, and its version.",
                false,
            )
        },
        Route {
            answer: (200, Some(any_object)),
            ..route(Get, PATH, "This description of `/v1` (OpenAPI 3).", false)
        },
        Route {
            request: Some(named::<CreateCase>),
            answer: (201, Some(named::<super::CaseCreated>)),
            refusals: vec![NotAMediator, CaseExists, CaseQuota { max: 0 }],
            ..route(
                Post,
                "/v1/cases",
                "Creates a case, with the caller as its mediator.",
                true,
            )
        },
        Route {
            request: Some(named::<CreateInvite>),
            answer: (201, Some(empty_object)),
            refusals: vec![
                InvalidInvite(""),
                CaseNotFound,
                NotMember,
                Forbidden,
                InviteExists,
                InviteQuota { max: 0 },
            ],
            ..route(
                Post,
                "/v1/cases/{case}/invites",
                "Stores an invite's code hash (mediator).",
                true,
            )
        },
        Route {
            request: Some(named::<RevokeInvite>),
            answer: (200, Some(named::<backchannel_core::api::InviteRevoked>)),
            refusals: vec![
                InvalidInvite(""),
                CaseNotFound,
                NotMember,
                Forbidden,
                InviteUnknown,
                InviteUsed,
            ],
            ..route(
                Post,
                "/v1/cases/{case}/invites/revoke",
                "Revokes an invite (mediator).",
                true,
            )
        },
        Route {
            request: Some(named::<Join>),
            answer: (200, Some(named::<Member>)),
            refusals: vec![
                InvalidName,
                CaseNotFound,
                InviteUnknown,
                InviteUsed,
                AlreadyMember,
                InviteRevoked,
                InviteExpired,
            ],
            ..route(
                Post,
                "/v1/join",
                "Spends an invite: the caller joins its case.",
                true,
            )
        },
        Route {
            answer: (200, Some(named::<Members>)),
            refusals: vec![CaseNotFound, NotMember],
            ..route(
                Get,
                "/v1/cases/{case}/members",
                "The case's members, in order of joining (members).",
                true,
            )
        },
        Route {
            request: Some(named::<UploadKeyPackages>),
            answer: (200, Some(named::<KeyPackagesStored>)),
            refusals: vec![InvalidKeyPackage(""), TooManyKeyPackages],
            ..route(
                Post,
                "/v1/key-packages",
                "Stores the caller's MLS key packages.",
                true,
            )
        },
        Route {
            request: Some(named::<ClaimKeyPackage>),
            answer: (200, Some(named::<ClaimedKeyPackage>)),
            refusals: vec![
                CaseNotFound,
                NotMember,
                Forbidden,
                MemberNotFound,
                NoKeyPackage,
            ],
            ..route(
                Post,
                "/v1/cases/{case}/key-packages/claim",
                "Hands out one of a member's key packages, once (mediator).",
                true,
            )
        },
        Route {
            request: Some(named::<CreateChannel>),
            answer: (201, Some(named::<ChannelInfo>)),
            refusals: vec![CaseNotFound, NotMember, Forbidden, ChannelExists],
            ..route(
                Post,
                "/v1/cases/{case}/channels",
                "Creates an MLS channel (mediator).",
                true,
            )
        },
        Route {
            answer: (200, Some(named::<Channels>)),
            refusals: vec![CaseNotFound, NotMember],
            ..route(
                Get,
                "/v1/cases/{case}/channels",
                "The channels the caller is a member of (members).",
                true,
            )
        },
        Route {
            request: Some(named::<PostEntry>),
            answer: (201, Some(named::<Posted>)),
            refusals: vec![
                InvalidCursor,
                InvalidEntry(""),
                WrongGroup,
                CaseNotFound,
                ChannelNotFound,
                NotMember,
                Forbidden,
                StaleHead {
                    head: 0,
                    missed: vec![],
                },
                EpochTaken,
                ByteQuota { max: 0 },
            ],
            ..route(
                Post,
                "/v1/cases/{case}/channels/{channel}/entries",
                "Appends an entry after the channel's head (channel members).",
                true,
            )
        },
        Route {
            query: &[AFTER, LIMIT],
            answer: (200, Some(named::<Entries>)),
            refusals: vec![
                InvalidCursor,
                InvalidLimit,
                CaseNotFound,
                ChannelNotFound,
                NotMember,
            ],
            ..route(
                Get,
                "/v1/cases/{case}/channels/{channel}/entries",
                "The channel's entries after a position (channel members).",
                true,
            )
        },
        Route {
            query: &[AFTER],
            answer: (200, Some(named::<Welcomes>)),
            refusals: vec![InvalidCursor],
            ..route(
                Get,
                "/v1/welcomes",
                "The caller's MLS welcomes after an id.",
                true,
            )
        },
        Route {
            answer: (101, None),
            refusals: vec![
                CaseNotFound,
                NotMember,
                TooManyStreams,
                StreamQuota,
                CaseStreamQuota,
            ],
            ..route(
                Get,
                "/v1/cases/{case}/stream",
                "A WebSocket of notices, one text frame `{\"channel\", \"seq\"}` per entry \
                 accepted in the caller's channels (members).",
                true,
            )
        },
        Route {
            answer: (200, Some(named::<WitnessKey>)),
            ..route(
                Get,
                "/v1/witness",
                "The key this hub co-signs with as a witness.",
                false,
            )
        },
        Route {
            request: Some(named::<Register>),
            answer: (200, Some(named::<WitnessKey>)),
            refusals: vec![WitnessTaken, WitnessQuota { max: 0 }],
            ..route(
                Post,
                "/v1/witness/{case}",
                "Registers a case with this witness, the caller as its mediator.",
                true,
            )
        },
        Route {
            request: Some(named::<WitnessSubmitters>),
            answer: (200, Some(named::<Submitters>)),
            refusals: vec![
                InvalidWitness(""),
                NotWitnessed,
                Forbidden,
                SubmitterQuota { max: 0 },
            ],
            ..route(
                Post,
                "/v1/witness/{case}/submitters",
                "Allows keys to send the case's heads (the case's witness mediator).",
                true,
            )
        },
        Route {
            request: Some(named::<WitnessHeads>),
            answer: (200, Some(named::<Cosigned>)),
            refusals: vec![
                InvalidWitness(""),
                NotWitnessed,
                NotASubmitter,
                WitnessFork {
                    witnessed: Box::new(placeholder_cosigned()),
                },
                WitnessGap { witnessed: None },
            ],
            ..route(
                Post,
                "/v1/witness/{case}/heads",
                "Sends chain hashes; answers the witness's signed newest head (submitters).",
                true,
            )
        },
    ]
}

/// A statement that only stands in for the one a `witness_fork` carries: refusals are listed
/// by their code and status, never by their content.
fn placeholder_cosigned() -> Cosigned {
    Cosigned {
        case: CaseId([0; 16]),
        index: 0,
        hash: backchannel_core::Digest32([0; 32]),
        sig: vec![],
    }
}

impl Route {
    /// Every refusal of this route, as status and code: those of every route of its kind,
    /// then its own.
    fn refusals(&self) -> Vec<(u16, &'static str)> {
        use ApiError::*;
        let mut refusals = vec![TooBusy];
        let has_input = self.request.is_some() || !self.query.is_empty() || self.path.contains('{');
        if has_input {
            refusals.push(BadRequest(String::new()));
        }
        // A signed request records its nonce: on PostgreSQL, in the database.
        if self.signed {
            refusals.extend([
                AuthMissing,
                AuthInvalid,
                AuthExpired,
                AuthReplayed,
                BodyTooLarge,
                BodyTimeout,
                RateLimited { retry_after_s: 0 },
                DatabaseUnavailable,
            ]);
        }
        refusals
            .iter()
            .chain(&self.refusals)
            .map(|refusal| (refusal.status().as_u16(), refusal.code()))
            .collect()
    }

    fn parameters(&self, schemas: &mut Schemas) -> Vec<utoipa::openapi::path::Parameter> {
        let mut parameters = vec![];
        for (name, description, schema) in [
            ("case", "The case's id.", named::<CaseId>(schemas)),
            (
                "channel",
                "The channel's name.",
                named::<HubChannel>(schemas),
            ),
        ] {
            if self.path.contains(&format!("{{{name}}}")) {
                parameters.push(
                    ParameterBuilder::new()
                        .name(name)
                        .parameter_in(ParameterIn::Path)
                        .required(Required::True)
                        .description(Some(description))
                        .schema(Some(schema))
                        .build(),
                );
            }
        }
        for (name, description, min, max) in self.query {
            let schema = ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(*min))
                .maximum(Some(*max));
            parameters.push(
                ParameterBuilder::new()
                    .name(*name)
                    .parameter_in(ParameterIn::Query)
                    .required(Required::False)
                    .description(Some(*description))
                    .schema(Some(schema))
                    .build(),
            );
        }
        parameters
    }

    fn operation(&self, schemas: &mut Schemas) -> utoipa::openapi::path::Operation {
        let json = |schema| ContentBuilder::new().schema(Some(schema)).build();
        let (status, answer) = self.answer;
        let mut success = ResponseBuilder::new().description(match status {
            101 => "Switching to the WebSocket protocol.",
            201 => "Created.",
            _ => "OK.",
        });
        if let Some(answer) = answer {
            success = success.content("application/json", json(answer(schemas)));
        }
        let mut operation = OperationBuilder::new()
            .summary(Some(self.summary))
            .operation_id(Some(operation_id(&self.method, self.path)))
            .parameters(Some(self.parameters(schemas)))
            .response(status.to_string(), success);
        if let Some(request) = self.request {
            operation = operation.request_body(Some(
                RequestBodyBuilder::new()
                    .required(Some(Required::True))
                    .content("application/json", json(request(schemas)))
                    .build(),
            ));
        }
        // One answer per status, naming each code it may carry.
        let mut codes = BTreeMap::<u16, Vec<&str>>::new();
        for (status, code) in self.refusals() {
            let codes = codes.entry(status).or_default();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        let error = named::<ErrorBody>(schemas);
        for (status, codes) in codes {
            let description = format!("Refused: `{}`.", codes.join("`, `"));
            operation = operation.response(
                status.to_string(),
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", json(error.clone())),
            );
        }
        if self.signed {
            operation = operation.security(SecurityRequirement::new(SIGNED, Vec::<String>::new()));
        }
        operation.build()
    }
}

/// `createCase`-like ids: the method, then each literal segment after `/v1`.
fn operation_id(method: &HttpMethod, path: &str) -> String {
    let method = match method {
        HttpMethod::Get => "get",
        HttpMethod::Post => "post",
        _ => "call",
    };
    let mut id = method.to_owned();
    for segment in path.trim_start_matches("/v1/").split(['/', '-', '.']) {
        if segment.starts_with('{') {
            continue;
        }
        let mut chars = segment.chars();
        if let Some(first) = chars.next() {
            id.extend(first.to_uppercase().chain(chars));
        }
    }
    id
}

/// The description, built once.
pub fn description() -> &'static OpenApi {
    static DESCRIPTION: LazyLock<OpenApi> = LazyLock::new(build);
    &DESCRIPTION
}

fn build() -> OpenApi {
    let mut schemas = Schemas::new();
    let mut paths = Paths::new();
    for route in routes() {
        let operation = route.operation(&mut schemas);
        paths.add_path_operation(route.path, vec![route.method.clone()], operation);
    }
    let signed = ApiKeyValue::with_description(
        "Authorization",
        "`Backchannel key=<64 hex>, ts=<unix ms>, nonce=<32 hex>, sig=<128 hex>`: `sig` is \
         the Ed25519 signature by `key` over `backchannel-request/1\\nMETHOD\\nPATH?QUERY\\n\
         ts\\nnonce\\nhex(sha256(body))` (docs/protocol.md, Authentication). `ts` within 5 \
         minutes of the hub's clock; each nonce once.",
    );
    let components = ComponentsBuilder::new()
        .schemas_from_iter(schemas)
        .security_scheme(SIGNED, SecurityScheme::ApiKey(ApiKey::Header(signed)))
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("backchannel hub")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "The hub's `/v1` API: a relay that stores and orders ciphertext per \
                     channel, delivers it, and enforces membership. See docs/protocol.md.",
                ))
                .build(),
        )
        .paths(paths)
        .components(Some(components))
        .build()
}

/// `GET /v1/openapi.json`.
pub async fn serve() -> impl IntoResponse {
    static JSON: LazyLock<String> = LazyLock::new(|| {
        description()
            .to_json()
            .unwrap_or_else(|error| format!("{{\"error\": \"{error}\"}}"))
    });
    ([(CONTENT_TYPE, "application/json")], JSON.as_str())
}

/// `POST /v1/cases` answers the new case's id.
impl PartialSchema for super::CaseCreated {
    fn schema() -> RefOr<Schema> {
        object(
            "The new case.",
            vec![("case_id", named::<CaseId>(&mut Schemas::new()))],
        )
    }
}

impl ToSchema for super::CaseCreated {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("CaseCreated")
    }
    fn schemas(schemas: &mut Schemas) {
        named::<CaseId>(schemas);
    }
}

/// `POST /v1/witness/{case}` takes `{}`.
impl PartialSchema for Register {
    fn schema() -> RefOr<Schema> {
        object("Nothing: `{}`.", vec![])
    }
}

impl ToSchema for Register {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WitnessRegister")
    }
}

/// `POST /v1/witness/{case}/submitters` answers how many keys the case allows.
impl PartialSchema for Submitters {
    fn schema() -> RefOr<Schema> {
        object(
            "How many keys the case now allows to send heads.",
            vec![("submitters", integer(u64::MAX))],
        )
    }
}

impl ToSchema for Submitters {
    fn name() -> Cow<'static, str> {
        Cow::Borrowed("WitnessSubmittersAllowed")
    }
}
