"""A fake Hugging Face Hub on 127.0.0.1 for the tests of `bench publish`: just enough of the Hub's HTTP API for
huggingface_hub's own client (whoami, create repo, repo info, file tree, preupload, NDJSON commit, validate-yaml)
to publish through it, keeping every request it got and every repo's files and commits.

It answers every file as a regular (non-LFS) upload, so the client sends the content inline in the commit; the LFS
and Xet upload paths of the real Hub are not exercised. README.md metadata is validated as the Hub does before a
commit: a model card's `model-index` against tests/model_index.schema.json (written from the Hub's documented format).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import yaml

TOKEN = "hf_fake_token_for_tests"
USER = "tester"
MODEL_INDEX_SCHEMA = Path(__file__).with_name("model_index.schema.json")


def git_blob_sha(content: bytes) -> str:
    """The git object id of a file's content: what the Hub answers as a regular file's `oid`."""
    return hashlib.sha1(b"blob " + str(len(content)).encode() + b"\0" + content).hexdigest()


@dataclass
class Repo:
    repo_type: str
    repo_id: str
    private: bool
    files: dict[str, bytes] = field(default_factory=lambda: {".gitattributes": b"*.bin filter=lfs\n"})
    commits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def sha(self) -> str:
        return self.commits[-1]["oid"] if self.commits else hashlib.sha1(self.repo_id.encode()).hexdigest()


@dataclass
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    authorized: bool


def validate_metadata(content: str, repo_type: str) -> list[str]:
    """The errors the Hub's validate-yaml would answer for a README.md: YAML front matter that parses, and for a
    model card a `model-index` of the documented shape."""
    if not content.startswith("---\n"):
        return []
    try:
        meta = yaml.safe_load(content.split("---\n", 2)[1]) or {}
    except yaml.YAMLError as err:
        return [f"invalid YAML: {err}"]
    if not isinstance(meta, dict):
        return ["metadata is not a mapping"]
    if repo_type == "model" and "model-index" in meta:
        import jsonschema

        schema = json.loads(MODEL_INDEX_SCHEMA.read_text(encoding="utf-8"))
        return [e.message for e in jsonschema.Draft202012Validator(schema).iter_errors(meta["model-index"])]
    return []


class FakeHub:
    """The server's state: repos by (type, id), and the requests in the order they came."""

    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], Repo] = {}
        self.requests: list[Request] = []
        self.lock = threading.Lock()
        self.url = ""

    def repo(self, repo_type: str, repo_id: str) -> Repo:
        return self.repos[(repo_type, repo_id)]

    def commits(self, repo_type: str, repo_id: str) -> list[dict[str, Any]]:
        return self.repo(repo_type, repo_id).commits

    def calls(self, method: str, fragment: str) -> list[Request]:
        return [r for r in self.requests if r.method == method and fragment in r.path]


def _handler(hub: FakeHub) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # quiet
            pass

        def _send(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _record(self) -> tuple[str, dict[str, list[str]], bool]:
            parts = urlsplit(self.path)
            authorized = self.headers.get("Authorization") == f"Bearer {TOKEN}"
            with hub.lock:
                hub.requests.append(Request(self.command, unquote(parts.path), parse_qs(parts.query), authorized))
            return unquote(parts.path), parse_qs(parts.query), authorized

        def _repo(self, path: str) -> tuple[Repo | None, list[str]]:
            # /api/{type}s/{namespace}/{name}/<rest...>
            parts = path.split("/")
            repo_type, repo_id, rest = parts[2].removesuffix("s"), "/".join(parts[3:5]), parts[5:]
            return hub.repos.get((repo_type, repo_id)), rest

        def do_GET(self) -> None:
            path, _query, authorized = self._record()
            if path == "/api/whoami-v2":
                if not authorized:
                    return self._send(401, {"error": "Invalid credentials in Authorization header"})
                return self._send(200, {"type": "user", "name": USER, "auth": {"accessToken": {"role": "write"}}})
            repo, rest = self._repo(path)
            if repo is None or (repo.private and not authorized):
                return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if rest[:1] == ["revision"] or not rest:  # repo_info, at a revision or the default branch
                siblings = [{"rfilename": p} for p in sorted(repo.files)]
                info = {"id": repo.repo_id, "sha": repo.sha, "private": repo.private, "siblings": siblings}
                return self._send(200, info)
            if rest[:1] == ["tree"]:
                prefix = "/".join(rest[2:])
                entries = [
                    {"type": "file", "path": p, "oid": git_blob_sha(c), "size": len(c)}
                    for p, c in sorted(repo.files.items())
                    if not prefix or p.startswith(prefix + "/")
                ]
                return self._send(200, entries)
            return self._send(404, {"error": f"not implemented: GET {path}"})

        def do_POST(self) -> None:
            path, _query, authorized = self._record()
            body = self._body()
            if not authorized:
                return self._send(401, {"error": "Invalid credentials in Authorization header"})
            if path == "/api/repos/create":
                payload = json.loads(body)
                repo_type = payload.get("type") or "model"
                repo_id = f"{payload.get('organization') or USER}/{payload['name']}"
                if (repo_type, repo_id) in hub.repos:
                    return self._send(409, {"error": "You already created this repo", "url": repo_id})
                private = payload.get("visibility") == "private"
                hub.repos[(repo_type, repo_id)] = Repo(repo_type, repo_id, private)
                prefix = "" if repo_type == "model" else f"{repo_type}s/"
                return self._send(200, {"url": f"{hub.url}/{prefix}{repo_id}"})
            if path == "/api/validate-yaml":
                payload = json.loads(body)
                errors = validate_metadata(payload["content"], payload.get("repoType") or "model")
                if errors:
                    return self._send(400, {"errors": [{"message": e} for e in errors], "warnings": []})
                return self._send(200, {"errors": [], "warnings": []})
            repo, rest = self._repo(path)
            if repo is None:
                return self._send(404, {"error": "Repository not found"}, {"X-Error-Code": "RepoNotFound"})
            if rest[:1] == ["preupload"]:
                files = json.loads(body)["files"]
                answer = [
                    {
                        "path": f["path"],
                        "uploadMode": "regular",
                        "shouldIgnore": False,
                        "oid": git_blob_sha(repo.files[f["path"]]) if f["path"] in repo.files else None,
                    }
                    for f in files
                ]
                return self._send(200, {"files": answer})
            if rest[:1] == ["commit"]:
                lines = [json.loads(line) for line in body.decode().splitlines() if line.strip()]
                header = next(item["value"] for item in lines if item["key"] == "header")
                changed, deleted = [], []
                for item in lines:
                    if item["key"] == "file":
                        content = base64.b64decode(item["value"]["content"])
                        repo.files[item["value"]["path"]] = content
                        changed.append(item["value"]["path"])
                    elif item["key"] == "deletedFile":
                        repo.files.pop(item["value"]["path"], None)
                        deleted.append(item["value"]["path"])
                    elif item["key"] != "header":
                        return self._send(400, {"error": f"the fake Hub does not take {item['key']}"})
                oid = hashlib.sha1(f"{repo.sha}{len(repo.commits)}{changed}{deleted}".encode()).hexdigest()
                repo.commits.append(
                    {"oid": oid, "summary": header.get("summary"), "files": changed, "deleted": deleted}
                )
                prefix = "" if repo.repo_type == "model" else f"{repo.repo_type}s/"
                url = f"{hub.url}/{prefix}{repo.repo_id}/commit/{oid}"
                return self._send(200, {"success": True, "commitOid": oid, "commitUrl": url})
            return self._send(404, {"error": f"not implemented: POST {path}"})

    return Handler


@contextlib.contextmanager
def fake_hub(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A fake Hub on 127.0.0.1 the real huggingface_hub client talks to (HF_ENDPOINT, HF_TOKEN set; offline mode,
    which the test session sets, lifted for it alone)."""
    import huggingface_hub.constants

    state = FakeHub()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    monkeypatch.setenv("HF_ENDPOINT", state.url)
    monkeypatch.setenv("HF_TOKEN", TOKEN)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
