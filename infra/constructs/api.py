"""The HTTP API: one explicit route per entry of `infra.definitions.ROUTES` and a `$default` route, all
integrated with the api function; access logs and throttling on the one stage.

No route has a gateway authorizer: an HTTP API's JWT authorizer answers a refusal as `{"message":
"Unauthorized"}` and unknown routes as `{"message": "Not Found"}`, and neither can be reshaped (gateway
responses are a REST API feature). So the api function verifies bearer tokens itself (issuer, audience,
expiry, the issuer's signing keys: tximport.auth.JwksVerifier, as the authorizer would) and answers 401
in the service's envelope, and the `$default` route brings unknown routes to the function, which answers
404 RouteNotFound in the same envelope."""

from __future__ import annotations

import json
from collections.abc import Sequence

import jsii
from aws_cdk import RemovalPolicy
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_apigatewayv2 as apigwv2
from aws_cdk import aws_apigatewayv2_integrations as integrations
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.nag import acknowledge
from infra.definitions import ROUTES, Route

#: the access-log line: one JSON object per request, with what is needed to trace a failure
ACCESS_LOG_FIELDS = {
    "requestId": "$context.requestId",
    "ip": "$context.identity.sourceIp",
    "requestTime": "$context.requestTime",
    "httpMethod": "$context.httpMethod",
    "routeKey": "$context.routeKey",
    "status": "$context.status",
    "protocol": "$context.protocol",
    "responseLength": "$context.responseLength",
    "integrationError": "$context.integrationErrorMessage",
}


_APIG4_REASON = ("The api function verifies the bearer JWT itself (the issuer's signing keys, issuer, audience, "
                 "expiry: tximport.auth.JwksVerifier) so that a refusal answers 401 in the service's envelope, "
                 "which an HTTP API's JWT authorizer cannot; an unverified request reaches no tenant data.")


def route_construct_id(route: Route) -> str:
    """A stable construct id for a route, e.g. `GET /imports/{id}` -> `GET-imports-id`."""
    parts = [p.strip("{}") for p in route.path.strip("/").split("/")]
    return "-".join([route.method, *parts])


class Api(Construct):
    """The service's HTTP API (API Gateway v2)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        handler: lambda_.IFunction,
        jwt_issuer: str,
        jwt_audience: Sequence[str],
        throttle_rate_limit: int,
        throttle_burst_limit: int,
        log_retention: logs.RetentionDays,
        removal_policy: RemovalPolicy,
        routes: Sequence[Route] = ROUTES,
    ) -> None:
        super().__init__(scope, construct_id)
        self.http_api = apigwv2.HttpApi(
            self,
            "HttpApi",
            description="tximport: bank statement imports",
            # the stage is declared below, with access logs and throttling
            create_default_stage=False,
        )
        # the function verifies tokens of this issuer and these audiences (its JWT_ISSUER / JWT_AUDIENCE)
        self.jwt_issuer, self.jwt_audience = jwt_issuer, list(jwt_audience)
        integration = integrations.HttpLambdaIntegration("ApiFunction", handler)
        public = apigwv2.HttpNoneAuthorizer()

        self.routes: dict[Route, apigwv2.HttpRoute] = {}
        for route in routes:
            self.routes[route] = apigwv2.HttpRoute(
                self,
                route_construct_id(route),
                http_api=self.http_api,
                route_key=apigwv2.HttpRouteKey.with_(route.path, apigwv2.HttpMethod(route.method)),
                integration=integration,
                authorizer=public,
            )
            acknowledge(self.routes[route], {"AwsSolutions-APIG4": _APIG4_REASON if route.auth_required else (
                "The file-format catalogue and its templates are public by design (the API we follow serves "
                "them without authentication); they expose no tenant data.")})
        # requests no route matches reach the function, which answers 404 RouteNotFound in the envelope
        self.default_route = apigwv2.HttpRoute(
            self, "DefaultRoute", http_api=self.http_api, route_key=apigwv2.HttpRouteKey.DEFAULT,
            integration=integration, authorizer=public)
        acknowledge(self.default_route, {"AwsSolutions-APIG4": "Only requests no route matches arrive here; the "
                                         "function answers them 404 RouteNotFound and serves no tenant data "
                                         "without a verified token."})

        self.access_logs = logs.LogGroup(
            self, "AccessLogs", retention=log_retention, removal_policy=removal_policy
        )
        self.stage = apigwv2.HttpStage(
            self,
            "DefaultStage",
            http_api=self.http_api,
            stage_name="$default",
            auto_deploy=True,
            throttle=apigwv2.ThrottleSettings(
                rate_limit=throttle_rate_limit, burst_limit=throttle_burst_limit
            ),
            access_log_settings=_AccessLogSettings(self.access_logs),
        )

    @property
    def url(self) -> str:
        return self.stage.url


@jsii.implements(apigwv2.IAccessLogSettings)
class _AccessLogSettings:
    """Stage access-log settings: JSON lines into the API's log group."""

    def __init__(self, log_group: logs.ILogGroup) -> None:
        self._destination = apigwv2.LogGroupLogDestination(log_group)
        self._format = apigw.AccessLogFormat.custom(json.dumps(ACCESS_LOG_FIELDS))

    @property
    def destination(self) -> apigwv2.IAccessLogDestination:
        return self._destination

    @property
    def format(self) -> apigw.AccessLogFormat:
        return self._format
