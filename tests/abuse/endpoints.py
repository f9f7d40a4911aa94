"""Which URL patterns belong to this project, found by walking the resolver rather than listed by
hand, so an endpoint added later is either covered by the suite or makes ``test_coverage`` fail."""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RegexPattern, RoutePattern

PROJECT_PACKAGES = ("content", "review", "ai_core", "site_config")
# Wagtail serves these for models of this project (snippets, choosers, model viewsets, modeladmin):
# the view code is Wagtail's, the forms, querysets and templates are ours.
PROJECT_MODELS = ("ai_core", "budgets", "review", "content")


@dataclass(frozen=True)
class Endpoint:
    name: str  # "namespace:name", unique per endpoint
    route: str  # the full pattern, as written in the URL config
    kwargs: tuple[str, ...]  # the URL arguments the route needs, in order
    converters: tuple[str, ...]  # "int", "uuid", "str", "path" or "regex" per argument
    module: str

    @property
    def is_admin(self) -> bool:
        return self.route.startswith("admin/")


def _module(callback) -> str:
    callback = inspect.unwrap(callback)  # Wagtail wraps admin views in require_admin_access
    view_class = getattr(callback, "view_class", None)
    if view_class is not None:
        return view_class.__module__
    owner = getattr(callback, "__self__", None)  # a bound method, e.g. a modeladmin's index_view
    if owner is not None:
        return type(owner).__module__
    return getattr(callback, "__module__", "") or ""


def _project_namespaces() -> set[str]:
    """URL namespaces of the admin viewsets that serve this project's models."""
    from wagtail.admin.viewsets import viewsets

    names = set()
    for viewset in viewsets.viewsets:
        model = getattr(viewset, "model", None)
        module = type(viewset).__module__
        ours = module.split(".")[0] in PROJECT_PACKAGES
        app_label = (
            model.split(".")[0]
            if isinstance(model, str)
            else getattr(model, "_meta", None) and model._meta.app_label
        )
        if app_label in PROJECT_MODELS:
            ours = True
        if ours:
            try:
                names.add(viewset.url_namespace)
            except Exception:  # noqa: BLE001, S112 - a viewset without a name is not one of ours
                continue
    return names


def _arguments(pattern) -> tuple[tuple[str, ...], tuple[str, ...]]:
    if isinstance(pattern, RoutePattern):
        names = tuple(pattern.converters)
        kinds = tuple(type(c).__name__.replace("Converter", "").lower() for c in pattern.converters.values())
        return names, kinds
    if isinstance(pattern, RegexPattern):
        names = tuple(re.compile(pattern._regex).groupindex)
        return names, ("regex",) * len(names)
    return (), ()


def _walk(patterns, prefix: str = "", namespaces: tuple[str, ...] = (), args=((), ())):
    for entry in patterns:
        names, kinds = _arguments(entry.pattern)
        all_args = (args[0] + names, args[1] + kinds)
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            namespace = (entry.namespace,) if entry.namespace else ()
            yield from _walk(entry.url_patterns, route, namespaces + namespace, all_args)
        elif isinstance(entry, URLPattern):
            yield route, namespaces, entry, all_args


def project_endpoints() -> list[Endpoint]:
    """Every URL pattern served by this project's code or for this project's models."""
    ours_by_namespace = _project_namespaces()
    found: dict[str, Endpoint] = {}
    for route, namespaces, pattern, (names, kinds) in _walk(get_resolver().url_patterns):
        module = _module(pattern.callback)
        mine = module.split(".")[0] in PROJECT_PACKAGES or any(ns in ours_by_namespace for ns in namespaces)
        if not mine or not pattern.name:
            continue
        name = ":".join((*namespaces, pattern.name))
        found[name] = Endpoint(name=name, route=route, kwargs=names, converters=kinds, module=module)
    return sorted(found.values(), key=lambda e: e.name)
