"""What loopkit keeps out of everything it writes: secrets and machine paths.

Secrets are found three ways: by value (every value of the environment whose variable has a
secret-looking name, and the password of any credential URL in the environment), by shape (the
common token formats, credential URLs, private key blocks) and by name (``NAME=value``,
``--password value``, ``"api_key": "value"``). A found secret becomes ``<redacted>``;
redacting redacted text changes nothing, so :meth:`Redactor.findings` can tell whether a
text still holds one.

Run folders are committed, so loopkit also rewrites every text file it keeps there with the
repository root written as ``<repo>``, the user's home as ``~`` and the system temp folder as
``<tmp>`` (longest path first, whole path components only) before ``sha256.txt`` is computed.

Files are rewritten in bounded chunks cut at line ends (:func:`rewrite_file`), so a file of
any size is redacted with bounded memory; step output is redacted as it is written
(:class:`LineFilter`).
"""

from __future__ import annotations

import contextlib
import fnmatch
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

REPO_MARK = "<repo>"
HOME_MARK = "~"
TMP_MARK = "<tmp>"
REDACTED = "<redacted>"
BINARY_SNIFF_BYTES = 8192
#: a secret value this long is replaced wherever it occurs; a shorter one only as a whole word
MIN_SECRET_LEN = 8
MIN_SHORT_SECRET_LEN = 3
#: secret-looking variable names (loopkit.toml [env_snapshot] redact replaces them)
SECRET_NAMES = ("*KEY*", "*TOKEN*", "*SECRET*", "*PASSWORD*", "*PASSWD*", "*CREDENTIAL*")
NOT_SECRETS = {"true", "false", "yes", "no", "none", "null", "enabled", "disabled", "on", "off"}
#: names the patterns would match that hold no secret (the shell's working directories)
NOT_SECRET_NAMES = {"PWD", "OLDPWD"}
EXTRA_SECRET_NAMES = ("*PRIVATE*", "*_PW", "PW_*", "*_PW_*", "*_PWD", "*_PASS", "*PASSPHRASE*",
                      "*_PAT", "*COOKIE*")
CHUNK_BYTES = 1 << 20
MAX_LINE_BYTES = 64 * 1024

#: (literals, shape): a shape is only searched for in text holding one of its literals, which
#: keeps redaction fast on large outputs (about 100 MB/s on text without any)
TOKEN_SHAPES = [(lits, re.compile(rx)) for lits, rx in (
    (("sk-",), r"\bsk-(?:proj-|ant-|live-|test-|svcacct-)?[A-Za-z0-9_-]{16,}"),
    (("ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
     r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_[A-Za-z0-9_]{20,})"),
    (("glpat-", "glptt-", "gldt-"), r"\b(?:glpat|glptt|gldt)-[A-Za-z0-9_-]{16,}"),
    (("xox",), r"\bxox[abeprs]-[A-Za-z0-9-]{10,}"),
    (("AKIA", "ASIA"), r"\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"),
    (("AIza",), r"\bAIza[0-9A-Za-z_-]{30,}"),
    (("hf_", "npm_"), r"\b(?:hf|npm)_[A-Za-z0-9]{30,}"),
    (("eyJ",), r"\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}"),
    (("PRIVATE KEY-----",),
     r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|\Z)"),
)]
#: ``scheme://user:password@host``: the password goes, the rest stays readable
URL_CRED_RE = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://[^\s:/@'\"<>]*:)([^\s@/'\"<>]+)(@)")
BEARER_RE = re.compile(r"(?i)\b(bearer|authorization:\s*basic)(\s+)([A-Za-z0-9._~+/=-]{12,})")
SAFE_VALUE = r"[^\s;|&'\"\\,<>(){}\[\]]+"
ASSIGN_RE = re.compile(rf"\b([A-Za-z_][A-Za-z0-9_]*)=('[^'\n]*'|\"[^\"\n\\]*\"|{SAFE_VALUE})")
FLAG_RE = re.compile(rf"(--?)([A-Za-z][A-Za-z0-9_-]*)([ \t]+)((?!-){SAFE_VALUE})")
KEYVAL_RE = re.compile(r"([\"'])([A-Za-z_][\w-]*)\1(\s*:\s*)([\"'])([^\"'\\\n]+)\4")


def matches_name(name: str, patterns: list[str]) -> bool:
    upper = name.upper().replace("-", "_")
    if upper in NOT_SECRET_NAMES:
        return False
    return any(fnmatch.fnmatchcase(upper, pat.upper()) for pat in patterns)


def secret_name_patterns(redact: list[str]) -> list[str]:
    """The configured secret-name patterns and loopkit's own extra ones."""
    return list(dict.fromkeys([*redact, *EXTRA_SECRET_NAMES]))


def plain_setting(value: str) -> bool:
    """A number or a boolean word: never a secret, whatever the variable is called."""
    return value.lower() in NOT_SECRETS or re.fullmatch(r"[\d.:-]*", value) is not None


def _value_secret(value: str) -> bool:
    """A value of a secret-named variable worth scrubbing everywhere: not empty or tiny, not
    a path, a flag word or a short number (a long number, a PIN or an account key, is)."""
    if len(value) < MIN_SHORT_SECRET_LEN or value.startswith("/") or "\n" in value:
        return False
    return not plain_setting(value) or len(value) >= MIN_SECRET_LEN and value.isdigit()


def _value_pattern(secret: str) -> str:
    escaped = re.escape(secret)
    if len(secret) >= MIN_SECRET_LEN:
        return escaped
    return rf"(?<![A-Za-z0-9]){escaped}(?![A-Za-z0-9])"


class Redactor:
    """Knows the secret values of an environment and scrubs them (and token shapes, credential
    URLs and secret-named assignments) from any text or structured record."""

    def __init__(self, env: dict[str, str], redact: list[str]) -> None:
        self.patterns = secret_name_patterns(redact)
        values = {v for k, v in env.items() if matches_name(k, self.patterns) and _value_secret(v)}
        for value in env.values():
            values.update(m.group(2) for m in URL_CRED_RE.finditer(value)
                          if _value_secret(m.group(2)))
        self.secrets = sorted(values, key=len, reverse=True)
        self._values_re = (re.compile("|".join(_value_pattern(s) for s in self.secrets))
                           if self.secrets else None)
        #: the literal core of each name pattern ("*_PW" -> "pw"): no core, no name to redact
        self._cores = sorted({re.sub(r"[^a-z0-9]", "", p.lower()) for p in self.patterns} - {""})

    def is_secret_name(self, name: str) -> bool:
        return matches_name(name, self.patterns)

    def text(self, text: str) -> str:
        if self._values_re is not None:
            text = self._values_re.sub(REDACTED, text)
        if "://" in text and "@" in text:
            text = URL_CRED_RE.sub(lambda m: m.group(1) + REDACTED + m.group(3), text)
        for literals, shape in TOKEN_SHAPES:
            if any(lit in text for lit in literals):
                text = shape.sub(REDACTED, text)
        lower = text.lower()
        if "bearer" in lower or "basic" in lower:
            text = BEARER_RE.sub(lambda m: m.group(1) + m.group(2) + REDACTED, text)
        if any(core in lower for core in self._cores):
            text = self._by_name(text)
        return text

    def _by_name(self, text: str) -> str:
        def assign(m: re.Match[str]) -> str:
            value = m.group(2).strip("'\"")
            if self.is_secret_name(m.group(1)) and value and not plain_setting(value):
                return f"{m.group(1)}={REDACTED}"
            return m.group(0)

        def flag(m: re.Match[str]) -> str:
            if self.is_secret_name(m.group(2)) and not plain_setting(m.group(4)):
                return m.group(1) + m.group(2) + m.group(3) + REDACTED
            return m.group(0)

        def keyval(m: re.Match[str]) -> str:
            if self.is_secret_name(m.group(2)) and not plain_setting(m.group(5)):
                return m.group(0)[: m.start(5) - m.start(0)] + REDACTED + m.group(4)
            return m.group(0)

        text = ASSIGN_RE.sub(assign, text)
        text = FLAG_RE.sub(flag, text)
        return KEYVAL_RE.sub(keyval, text)

    def data(self, value: Any, key: str = "") -> Any:
        """A JSON-ready record with every string redacted (and every value of a secret-named
        key replaced): redact before serialising, so the JSON stays valid."""
        if isinstance(value, dict):
            return {k: self.data(v, str(k)) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v, key) for v in value]
        if isinstance(value, str):
            if key and self.is_secret_name(key) and value and not plain_setting(value):
                return REDACTED
            return self.text(value)
        return value

    def findings(self, text: str) -> int:
        """How many secrets ``text`` still holds (0 for text this redactor has cleaned)."""
        clean = self.text(text)
        return 0 if clean == text else max(1, clean.count(REDACTED) - text.count(REDACTED))

    def file(self, path: Path) -> bool:
        """Scrub secrets from a file in place, in bounded chunks; True when it changed."""
        return rewrite_file(path, self.text)


def _variants(path: str | Path) -> list[str]:
    raw = str(path).rstrip("/")
    found = {raw, os.path.realpath(raw)} if raw else set()
    return [p for p in found if p not in ("", "/")]


class PathScrubber:
    """Replaces machine-specific path prefixes in text with stable placeholders."""

    def __init__(self, root: Path, home: str | None = None, tmp: str | None = None) -> None:
        marks: dict[str, str] = {}
        for value, mark in ((tmp or tempfile.gettempdir(), TMP_MARK),
                            (home if home is not None else os.path.expanduser("~"), HOME_MARK),
                            (root, REPO_MARK)):
            for variant in _variants(value):
                marks[variant] = mark
        self.marks = dict(sorted(marks.items(), key=lambda kv: len(kv[0]), reverse=True))
        alternatives = "|".join(re.escape(p) for p in self.marks)
        self._re = re.compile(rf"(?<![\w.-])(?:{alternatives})(?![\w.-])") if self.marks else None

    def text(self, text: str) -> str:
        if self._re is None:
            return text
        return self._re.sub(lambda m: self.marks[m.group(0)], text)

    def data(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self.data(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(v) for v in value]
        return self.text(value) if isinstance(value, str) else value

    def file(self, path: Path) -> bool:
        """Rewrite a text file in place when it names a machine path; binary files (a NUL in
        the first 8 KiB) are left alone. Returns True when the file changed."""
        if is_binary(path):
            return False
        return rewrite_file(path, self.text)


def is_binary(path: Path) -> bool:
    """A NUL in the first 8 KiB (or an unreadable file): never path-scrubbed."""
    try:
        with open(path, "rb") as fh:
            return b"\0" in fh.read(BINARY_SNIFF_BYTES)
    except OSError:
        return True


def _chunks(fh: BinaryIO) -> Iterator[bytes]:
    """The file in pieces of about CHUNK_BYTES cut after a newline (or a blank, for a very
    long line), so no token or line is split between two pieces."""
    rest = b""
    while True:
        block = fh.read(CHUNK_BYTES)
        if not block:
            if rest:
                yield rest
            return
        rest += block
        cut = rest.rfind(b"\n") + 1
        if not cut and len(rest) > 4 * CHUNK_BYTES:
            cut = max(rest.rfind(b" "), rest.rfind(b"\t")) + 1 or len(rest)
        if cut:
            yield rest[:cut]
            rest = rest[cut:]


def rewrite_file(path: Path, transform: Callable[[str], str]) -> bool:
    """Apply ``transform`` to a file's text piece by piece (bytes that are not UTF-8 pass
    through unchanged); replace the file atomically only if something changed. Symbolic links
    are never followed. Returns True when the file changed."""
    try:
        if path.is_symlink() or not path.is_file():
            return False
        src = open(path, "rb")  # noqa: SIM115 - closed below
    except OSError:
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    changed = False
    try:
        with src, os.fdopen(fd, "wb") as out:
            for piece in _chunks(src):
                text = piece.decode("utf-8", errors="surrogateescape")
                clean = transform(text)
                changed = changed or clean != text
                out.write(clean.encode("utf-8", errors="surrogateescape"))
        if changed:
            os.chmod(tmp, path.stat().st_mode & 0o777)
            os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
    return changed


class LineFilter:
    """Redacts a byte stream on its way to a file: whole lines are redacted and written, a
    line without its end is held back (up to MAX_LINE_BYTES, then cut at a blank)."""

    def __init__(self, out: BinaryIO, transform: Callable[[str], str]) -> None:
        self.out = out
        self.transform = transform
        self.pending = b""

    def feed(self, data: bytes) -> None:
        self.pending += data
        cut = self.pending.rfind(b"\n") + 1
        if not cut and len(self.pending) > MAX_LINE_BYTES:
            cut = max(self.pending.rfind(b" "), self.pending.rfind(b"\t")) + 1
            cut = cut or len(self.pending)
        if cut:
            self._emit(self.pending[:cut])
            self.pending = self.pending[cut:]

    def close(self) -> None:
        if self.pending:
            self._emit(self.pending)
            self.pending = b""
        self.out.flush()

    def _emit(self, data: bytes) -> None:
        text = data.decode("utf-8", errors="surrogateescape")
        self.out.write(self.transform(text).encode("utf-8", errors="surrogateescape"))
        self.out.flush()


def one_line(text: str) -> str:
    """Free text for a one-line field: every line break (and other control character) becomes
    a space, so it cannot start a heading, an entry or a field of its own."""
    return re.sub(r"[\x00-\x1f\x7f\u0085\u2028\u2029]+", " ", text).strip()


def clean_text(text: str, patterns: list[str], multiline: bool = False) -> str:
    """Free text a user gives loopkit to write (a summary, a note, a commit message): secrets
    of the environment and token shapes redacted, and, unless ``multiline``, on one line."""
    redacted = Redactor(dict(os.environ), patterns).text(text)
    return redacted.strip() if multiline else one_line(redacted)


def file_findings(path: Path, redactor: Redactor) -> int:
    """How many secrets a file holds, read in bounded chunks."""
    found = 0
    try:
        with open(path, "rb") as fh:
            for piece in _chunks(fh):
                found += redactor.findings(piece.decode("utf-8", errors="surrogateescape"))
    except OSError:
        return 0
    return found
