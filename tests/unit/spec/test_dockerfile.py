"""Dockerfile parser: golden IR for each instruction, scoping of ARG/ENV, directives, hostile input."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from stackfile.errors import InvalidSpec
from stackfile.spec.dockerfile import DEFAULT_PATH, expand_word, parse_dockerfile, split_raw_words
from stackfile.spec.recipe import (
    Arg,
    CacheMount,
    Cmd,
    Copy,
    Entrypoint,
    Env,
    Expose,
    From,
    Healthcheck,
    Label,
    Recipe,
    Run,
    Shell,
    Source,
    Stage,
    StopSignal,
    User,
    Volume,
    Workdir,
)

P = "/ctx/Dockerfile"


def S(line: int) -> Source:
    return Source(P, line)


def parse(text: str, **kw: object) -> Recipe:
    return parse_dockerfile(text, path=P, **kw)  # type: ignore[arg-type]


def steps(text: str, **kw: object) -> tuple[object, ...]:
    return parse(text, **kw).stages[-1].steps


def test_golden_single_stage() -> None:
    text = """\
FROM busybox
# a comment
ENV A=1 B="two words" \\
    C=$A
ENV LEGACY some value
WORKDIR /app
USER 1000:1000
RUN echo hi && \\
    echo there
RUN ["sh", "-c", "echo exec"]
COPY --chown=1:2 --chmod=644 a.txt b/ /dst/
ADD --link archive.tar /opt/
EXPOSE 80 53/udp 8000-8002/tcp
VOLUME ["/data", "/logs"]
VOLUME /cache
LABEL org.x=1 "with space"="v w"
MAINTAINER someone <a@b.c>
STOPSIGNAL SIGQUIT
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
ENTRYPOINT ["/init"]
CMD serve --port 80
"""
    recipe = parse(text, context="/ctx")
    assert recipe == Recipe(
        stages=(Stage(
            base=From("busybox", source=S(1)),
            steps=(
                Env((("A", "1"), ("B", "two words"), ("C", "")), S(3)),
                Env((("LEGACY", "some value"),), S(5)),
                Workdir("/app", S(6)),
                User("1000:1000", S(7)),
                Run(("echo hi &&     echo there",), True, (), "default", S(8)),
                Run(("sh", "-c", "echo exec"), False, (), "default", S(10)),
                Copy(("a.txt", "b/"), "/dst/", None, "1:2", "644", source=S(11)),
                Copy(("archive.tar",), "/opt/", add=True, link=True, source=S(12)),
                Expose(("80", "53/udp", "8000/tcp", "8001/tcp", "8002/tcp"), S(13)),
                Volume(("/data", "/logs"), S(14)),
                Volume(("/cache",), S(15)),
                Label((("org.x", "1"), ("with space", "v w")), S(16)),
                Label((("maintainer", "someone <a@b.c>"),), S(17)),
                StopSignal("SIGQUIT", S(18)),
                Shell(("/bin/bash", "-o", "pipefail", "-c"), S(19)),
                Entrypoint(("/init",), False, S(20)),
                Cmd(("serve --port 80",), True, S(21)),
            ),
        ),),
        context="/ctx",
        source=Source(P, None),
    )


def test_env_in_one_instruction_sees_previous_values() -> None:
    got = steps("FROM x\nENV A=old\nENV A=new B=$A\nENV C=${A}-${B}\n")
    assert got[1] == Env((("A", "new"), ("B", "old")), S(3))
    assert got[2] == Env((("C", "new-old"),), S(4))


def test_path_defaults_to_docker_default_and_base_env_is_used() -> None:
    got = steps("FROM x\nENV PATH=/app/bin:$PATH\n")
    assert got[0] == Env((("PATH", "/app/bin:" + DEFAULT_PATH),), S(2))
    got = steps("FROM x\nENV PATH=/app/bin:$PATH\n", base_env=lambda ref: {"PATH": f"/{ref}"})
    assert got[0] == Env((("PATH", "/app/bin:/x"),), S(2))


def test_global_args_scope_from_and_reimport() -> None:
    text = """\
ARG BASE=busybox
ARG TAG
FROM ${BASE}:${TAG:-latest} AS one
RUN echo $BASE
LABEL base=$BASE
ARG BASE
LABEL base=$BASE
"""
    recipe = parse(text)
    stage = recipe.stages[0]
    assert stage.base == From("busybox:latest", source=S(3))
    assert stage.name == "one"
    assert stage.global_args == (Arg("BASE", "busybox", S(1)), Arg("TAG", None, S(2)))
    assert stage.steps[0] == Run(("echo $BASE",), True, (), "default", S(4))  # RUN is not expanded
    assert stage.steps[1] == Label((("base", ""),), S(5))  # global ARG not visible without ARG
    assert stage.steps[2] == Arg("BASE", "busybox", S(6))  # re-imported with the global value
    assert stage.steps[3] == Label((("base", "busybox"),), S(7))


def test_build_args_override_defaults() -> None:
    text = "ARG BASE=busybox\nFROM $BASE\nARG V=1\nLABEL v=$V\nENV V=env\nLABEL v=$V\n"
    recipe = parse(text, build_args={"BASE": "alpine", "V": "9", "UNUSED": "x"})
    assert recipe.stages[0].base.ref == "alpine"
    assert recipe.stages[0].steps[1] == Label((("v", "9"),), S(4))
    assert recipe.stages[0].steps[3] == Label((("v", "env"),), S(6))  # ENV wins over ARG
    assert recipe.args == (("BASE", "alpine"), ("UNUSED", "x"), ("V", "9"))


def test_automatic_platform_args() -> None:
    recipe = parse("FROM --platform=$BUILDPLATFORM x AS a\nARG TARGETARCH\n"
                   "LABEL arch=$TARGETARCH os=$TARGETOS\n")
    stage = recipe.stages[0]
    assert stage.base.platform is not None and stage.base.platform.startswith("linux/")
    label = stage.steps[1]
    assert isinstance(label, Label)
    assert dict(label.values)["arch"] == stage.base.platform.split("/")[1]
    assert dict(label.values)["os"] == ""  # not declared in the stage


def test_undeclared_build_arg_is_not_visible() -> None:
    with pytest.raises(InvalidSpec):
        parse("FROM $X\n", build_args={"X": "busybox"})
    assert parse("ARG X\nFROM $X\n", build_args={"X": "busybox"}).stages[0].base.ref == "busybox"


def test_multi_stage_target_and_stage_refs() -> None:
    text = """\
FROM busybox AS Build
ENV X=1
FROM build AS test
LABEL x=$X
FROM scratch
COPY --from=BUILD /a /b
COPY --from=0 /c /d
COPY --from=nginx:latest /etc/nginx /etc/nginx
"""
    recipe = parse(text, target="TEST")
    assert [s.name for s in recipe.stages] == ["build", "test", None]
    assert recipe.target == "test"
    assert recipe.target_stage().name == "test"
    assert recipe.stages[1].base.ref == "build"
    assert recipe.stages[1].steps[0] == Label((("x", "1"),), S(4))  # ENV inherited from the stage
    assert [c.from_ for c in recipe.stages[2].steps] == ["build", "0", "nginx:latest"]  # type: ignore[union-attr]


def test_run_flags() -> None:
    text = ("FROM x\nRUN --mount=type=cache,target=/root/.cache,id=pip,sharing=locked,mode=0755,uid=1,gid=2 "
            "--mount=type=cache,dst=/var/cache/apt --network=none pip install x\n")
    run = steps(text)[0]
    mounts = (CacheMount("/root/.cache", "pip", "locked", 0o755, 1, 2), CacheMount("/var/cache/apt"))
    assert run == Run(("pip install x",), True, mounts, "none", S(2))


def test_healthcheck_forms() -> None:
    got = steps("FROM x\nHEALTHCHECK --interval=1m30s --timeout=500ms --start-period=2s --start-interval=1s "
                "--retries=4 CMD [\"curl\", \"-f\", \"http://x\"]\nHEALTHCHECK CMD true || exit 1\n"
                "HEALTHCHECK NONE\n")
    assert got[0] == Healthcheck(("CMD", "curl", "-f", "http://x"), 90.0, 0.5, 2.0, 1.0, 4, False, S(2))
    assert got[1] == Healthcheck(("CMD-SHELL", "true || exit 1"), source=S(3))
    assert got[2] == Healthcheck(("NONE",), disable=True, source=S(4))


@pytest.mark.parametrize(("flags", "message"), [
    ("--start-period=0s", 'HEALTHCHECK: Interval "start-period" cannot be less than 1ms'),
    ("--interval=0s", 'HEALTHCHECK: Interval "interval" cannot be less than 1ms'),
    ("--timeout=500us", 'HEALTHCHECK: Interval "timeout" cannot be less than 1ms'),
    ("--retries=0", "HEALTHCHECK: --retries must be at least 1 (not 0)"),
])
def test_healthcheck_refuses_what_dockers_builder_refuses(flags: str, message: str) -> None:
    """Docker 20.10's builder: ``dockerfile parse error line 2: Interval "start-period" cannot be
    less than 1ms``; the error names the Dockerfile's line."""
    with pytest.raises(InvalidSpec) as info:
        steps(f"FROM x\nHEALTHCHECK {flags} CMD true\n")
    assert info.value.message == message
    assert info.value.location is not None and info.value.location.line == 2
    assert steps("FROM x\nHEALTHCHECK --start-period=1ms --retries=1 CMD true\n")[0] == Healthcheck(
        ("CMD-SHELL", "true"), start_period=0.001, retries=1, source=S(2))


def test_heredocs() -> None:
    text = "FROM x\nRUN <<EOF\necho a\n  echo b\nEOF\nRUN python3 <<-PY\n\tprint(1)\n\tPY\nCMD x\n"
    got = steps(text)
    assert got[0] == Run(("echo a\n  echo b\n",), True, (), "default", S(2))
    assert got[1] == Run(("python3 <<PY\nprint(1)\nPY",), True, (), "default", S(6))
    assert got[2] == Cmd(("x",), True, S(9))


def test_escape_directive_and_syntax() -> None:
    text = "# syntax=docker/dockerfile:1\n# escape=`\nFROM x\nRUN echo a `\n    b\nCOPY C:\\a\\b /d\n"
    got = steps(text)
    assert got[0] == Run(("echo a     b",), True, (), "default", S(4))
    assert got[1] == Copy(("C:\\a\\b",), "/d", source=S(6))


def test_directive_after_comment_is_a_comment() -> None:
    got = steps("# hello\n# escape=`\nFROM x\nRUN a \\\n b\n")
    assert got[0] == Run(("a  b",), True, (), "default", S(4))


def test_instruction_keywords_are_case_insensitive_and_blank_continuations_skipped() -> None:
    got = steps("from x\nrun echo \\\n\n   # c\n  done\n")
    assert got[0] == Run(("echo   done",), True, (), "default", S(2))


def test_invalid_json_falls_back_to_shell_form_like_docker() -> None:
    got = steps("FROM x\nCMD [\"a\", 'b']\nRUN [ -f /etc/passwd ]\n")
    assert got[0] == Cmd(("[\"a\", 'b']",), True, S(2))
    assert got[1] == Run(("[ -f /etc/passwd ]",), True, (), "default", S(3))


@pytest.mark.parametrize(("text", "line", "needle"), [
    ("FORM busybox\n", 1, "did you mean FROM"),
    ("FROM x\nRUNN echo\n", 2, "did you mean RUN"),
    ("RUN echo\nFROM x\n", 1, "before the first FROM"),
    ("", None, "no FROM"),
    ("# only a comment\n", None, "no FROM"),
    ("FROM x\nRUN \\\n", 2, "at least one argument"),
    ("FROM x\nCOPY --frm=a b c\n", 2, "--from"),
    ("FROM x\nRUN --foo=bar echo\n", 2, "unknown flag"),
    ("FROM x\nSHELL /bin/bash -c\n", 2, "JSON"),
    ("FROM x\nSHELL [\"a\", 1]\n", 2, "JSON"),
    ("FROM x\nCOPY onlyone\n", 2, "destination"),
    ("FROM x\nEXPOSE eighty\n", 2, "invalid port"),
    ("FROM x\nEXPOSE 90-80\n", 2, "invalid port range"),
    ("FROM x\nEXPOSE 70000\n", 2, "invalid port range"),
    ("FROM x\nHEALTHCHECK --interval=soon CMD true\n", 2, "interval"),
    ("FROM x\nHEALTHCHECK --retries=x CMD true\n", 2, "retries"),
    ("FROM x\nHEALTHCHECK echo\n", 2, "CMD or NONE"),
    ("FROM x\nRUN --mount=type=bind,target=/x echo\n", 2, "type=bind"),
    ("FROM x\nRUN --mount=type=cache echo\n", 2, "target"),
    ("FROM x\nRUN --mount=type=cache,target=/x,bogus=1 echo\n", 2, "bogus"),
    ("FROM x\nRUN --network=bridge echo\n", 2, "network"),
    ("FROM x\nENV A\n", 2, "needs a value"),
    ("FROM x\nENV A=1 B\n", 2, "NAME=value"),
    ("FROM x\nLABEL a=\"unterminated\n", 2, "unterminated"),
    ("FROM x\nWORKDIR ${A:?must be set}\n", 2, "must be set"),
    ("FROM x\nWORKDIR ${A\n", 2, "missing"),
    ("FROM x AS 1bad\n", 1, "stage name"),
    ("FROM x AS a\nFROM y AS a\n", 2, "duplicate"),
    ("FROM x y z w\n", 1, "FROM <image>"),
    ("ARG B\nFROM $B\n", 2, "expands to nothing"),
    ("FROM x\nRUN <<EOF\necho\n", 2, "not terminated"),
    ("FROM x\nCOPY <<EOF /a\nhi\nEOF\n", 2, "heredocs"),
    ("FROM x\nCOPY --chmod=u+x a b\n", 2, "chmod"),
    ("FROM x\nCOPY --from=3 a b\n", 2, "does not exist"),
    ("# escape=x\nFROM a\n", 1, "escape"),
    ("FROM x\nONBUILD FROM y\n", 2, "ONBUILD"),
    ("FROM x\nARG 9x=1\n", 2, "ARG name"),
])
def test_errors_name_file_line_and_fix(text: str, line: int | None, needle: str) -> None:
    with pytest.raises(InvalidSpec) as info:
        parse(text)
    err = info.value
    assert err.location is not None and err.location.file == P
    assert err.location.line == line
    assert needle in str(err)


def test_unknown_target_lists_stages() -> None:
    with pytest.raises(InvalidSpec) as info:
        parse("FROM x AS a\nFROM y AS b\n", target="c")
    assert info.value.hint == "stages are: a, b"


def test_onbuild_accepted() -> None:
    assert steps("FROM x\nONBUILD RUN echo\nCMD a\n") == (Cmd(("a",), True, S(3)),)


@pytest.mark.parametrize(("word", "expected"), [
    ("$A", "1"), ("${A}", "1"), ("${U:-d}", "d"), ("${E:-d}", "d"), ("${E-d}", ""), ("${A:+alt}", "alt"),
    ("${U:+alt}", ""), ("'$A'", "$A"), ('"$A b"', "1 b"), ("\\$A", "$A"), ('"\\$A"', "$A"), ("$", "$"),
    ("a$-b", "a$-b"), ("${U:-${A}x}", "1x"), ("pre${A}post", "pre1post"), ("$Ax", ""), ('"a\\b"', "a\\b"),
])
def test_expand_word(word: str, expected: str) -> None:
    assert expand_word(word, {"A": "1", "E": ""}) == expected


def test_split_raw_words_keeps_quotes() -> None:
    assert split_raw_words('a "b c" d\\ e \'f g\'') == ["a", '"b c"', "d\\ e", "'f g'"]


DETERMINISM = (
    "import sys\nfrom stackfile.spec.dockerfile import parse_dockerfile\n"
    "args = {'Q': '1', 'P': '2'}\n"
    "print(repr(parse_dockerfile(sys.stdin.read(), path='/ctx/Dockerfile', build_args=args)))\n"
)


def test_recipe_is_deterministic_across_hash_seeds() -> None:
    """Set or dict-of-set ordering would differ between interpreters with other hash seeds; one
    process compares a value with itself, so parse in several processes with fixed, different seeds."""
    text = ("ARG Q P Z=3\nFROM x AS a\nENV B=2 A=1 C=$Q\nLABEL z=1 a=2 m=3 k=4\nEXPOSE 80 443/udp 22 8080\n"
            "VOLUME /b /a /c\nFROM a\nCOPY --from=a --chmod=644 y z w /dst/\nRUN --mount=type=cache,target=/c"
            " echo $P\nHEALTHCHECK CMD true\n")
    outs = set()
    for seed in ("0", "1", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        proc = subprocess.run([sys.executable, "-c", DETERMINISM], input=text, capture_output=True, text=True,
                              env=env, timeout=60)
        assert proc.returncode == 0, proc.stderr
        outs.add(proc.stdout.rstrip("\n"))
    assert len(outs) == 1, outs
    assert repr(parse(text, build_args={"Q": "1", "P": "2"})) in outs  # and this process agrees


def test_hostile_inputs_fail_cleanly_or_parse() -> None:
    deep = "${A:-" * 200 + "x" + "}" * 200
    with pytest.raises(InvalidSpec) as info:
        parse(f"FROM x\nWORKDIR {deep}\n")
    assert "nested" in str(info.value)
    assert steps("FROM x\r\nRUN echo a \\\r\n  b\r\n") == (Run(("echo a   b",), True, (), "default", S(2)),)
    long = "FROM x\n" + "".join(f"ENV K{i}=v{i}\n" for i in range(2000))
    assert len(steps(long)) == 2000
    assert steps("FROM x\nRUN echo \x00\n")[0] == Run(("echo \x00",), True, (), "default", S(2))
    with pytest.raises(InvalidSpec):
        parse("FROM x\nENV \"=1\n")
