"""Real clients, not only our own (issue 14): the official model SDKs (`openai` and
`@anthropic-ai/sdk`, pinned in tests/clients) pointed at a route as their base URL, whole and
streamed, get the provider's answer while the route puts the key on, which the agent never holds;
and Node's fetch GETs and POSTs over 1 MiB through the DNS-stub path and a route. Each has its
ungranted control: a path no route serves, a name not granted. And git clones over HTTPS from
git-http-backend behind nginx, through the proxy, granted by name. (urllib, requests, httpx and
curl are test_egress_bodies'; npm's local install is test_here's.)"""
import os
import shutil
import textwrap
import unittest

from harness import SOURCE
from test_egress import OWNER, SECRET, EgressTest

CLIENTS = SOURCE / "tests/clients/node_modules"
ROUTE = textwrap.dedent("""
    [[egress.route]]
    path = "/llm"
    upstream = "https://api.example.test/llm"
    header = ["Authorization: Bearer {secret:apikey}", "x-api-key: {secret:apikey}"]
""")

# Inside an agent: SDK BASE STREAM -> the model's answer, as the SDK gives it; or "error STATUS".
SDK = textwrap.dedent("""
    const [sdk, base, stream] = process.argv.slice(2);
    const say = (s) => console.log(s.trim());
    (async () => {
      try {
        if (sdk === "openai") {
          const { default: OpenAI } = await import("openai");
          const client = new OpenAI({ baseURL: base, apiKey: "not-the-key", maxRetries: 0 });
          const args = { model: "gpt-test", messages: [{ role: "user", content: "hello" }] };
          if (stream === "stream") {
            let text = "";
            for await (const chunk of await client.chat.completions.create({ ...args, stream: true }))
              text += chunk.choices[0]?.delta?.content ?? "";
            say(text);
          } else {
            say((await client.chat.completions.create(args)).choices[0].message.content);
          }
        } else {
          const { default: Anthropic } = await import("@anthropic-ai/sdk");
          const client = new Anthropic({ baseURL: base, apiKey: "not-the-key", maxRetries: 0 });
          const args = { model: "claude-test", max_tokens: 16, messages: [{ role: "user", content: "hello" }] };
          if (stream === "stream") {
            let text = "";
            const s = client.messages.stream(args);
            s.on("text", (t) => (text += t));
            await s.finalMessage();
            say(text);
          } else {
            say((await client.messages.create(args)).content[0].text);
          }
        }
      } catch (e) {
        console.log("error", e.status ?? e.code ?? e.cause?.code ?? e.message);
      }
    })();
""")

# Inside an agent: GET and POST a 1 MiB body to each URL with fetch; "URL STATUS BODY" per request.
FETCH = textwrap.dedent("""
    const crypto = require("crypto");
    (async () => {
      for (const url of process.argv.slice(1)) {  // node -e: no script path
        try {
          const get = await fetch(url.replace("/digest", "/echo"));
          console.log("GET", url, get.status);
          const body = crypto.randomBytes(1 << 20);
          const post = await fetch(url, { method: "POST", body });
          const want = "bytes=" + body.length + "\\nsha256=" + crypto.createHash("sha256").update(body).digest("hex") + "\\n";
          console.log("POST", url, post.status, (await post.text()) === want ? "whole" : "changed");
        } catch (e) {
          console.log("error", url, e.cause?.code ?? e.message);
        }
      }
    })();
""")


class ModelSdks(EgressTest):
    def setUp(self):
        super().setUp()
        if not (CLIENTS / "openai").exists():
            if os.environ.get("CI") == "true":
                self.fail(f"{CLIENTS} lacks the SDKs: scripts/install-deps.sh installs them")
            self.skipTest(f"{CLIENTS} lacks the SDKs (scripts/install-deps.sh installs them)")
        r = self.daemon.ctl("secret", "set", "apikey", user=OWNER, input=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)
        # The script imports the SDKs from beside them: a symlink would be resolved by Node.
        self.runner = CLIENTS.parent / f"sdk-{os.getpid()}.mjs"
        self.runner.write_text(SDK)
        os.chmod(self.runner, 0o644)
        self.addCleanup(self.runner.unlink)

    def sdk(self, name, sdk, base, stream=""):
        pol = self.egress_policy(name, routes=ROUTE, read=[str(CLIENTS.parent)], command=["/usr/bin/node"])
        code, out, err = self.agent(pol, "/usr/bin/node", str(self.runner), sdk, base, stream)
        self.assertEqual(code, 0, err)
        return out.strip()

    def test_the_sdks_reach_the_model_through_a_route_whole_and_streamed(self):
        bases = {"openai": "http://127.0.0.1:3128/llm/v1", "anthropic": "http://127.0.0.1:3128/llm"}
        for sdk, base in bases.items():
            for stream in ("", "stream"):
                with self.subTest(sdk=sdk, stream=stream):
                    # The upstream got the key from the route, not the agent's placeholder.
                    self.assertEqual(self.sdk(f"sdk-{sdk}{stream}", sdk, base, stream), f"echo: hello key: {SECRET}")
            with self.subTest(sdk=sdk, control="no route"):
                out = self.sdk(f"sdk-{sdk}-unrouted", sdk, base.replace("/llm", "/unrouted"))
                self.assertRegex(out, r"^error (403|404)")
        events = [e["operation"] for e in self.egress_audit() if e["agent_name"].startswith("sdk-")]
        self.assertTrue(any("egress route /llm -> api.example.test:443" in op for op in events), events[-5:])


class NodeFetch(EgressTest):
    def setUp(self):
        super().setUp()
        r = self.daemon.ctl("secret", "set", "apikey", user=OWNER, input=SECRET + "\n")
        self.assertEqual(r.returncode, 0, r.stderr)

    def test_get_and_post_a_mebibyte_through_the_dns_stub_and_a_route(self):
        ca = str(self.world.ca_cert)
        route = ROUTE.replace('"/llm"', '"/api"').replace("/llm", "")
        pol = self.egress_policy("fetch", allow=["api.example.test:443"], routes=route,
                                 command=["/usr/bin/node"], env={"NODE_EXTRA_CA_CERTS": ca})
        stub, routed = "https://api.example.test/digest", "http://127.0.0.1:3128/api/digest"
        code, out, err = self.agent(pol, "/usr/bin/node", "-e", FETCH, stub, routed)
        self.assertEqual(code, 0, err)
        self.assertEqual(out.splitlines(), [f"GET {stub} 200", f"POST {stub} 200 whole",
                                            f"GET {routed} 200", f"POST {routed} 200 whole"])
        # Control: a name the policy does not grant does not even resolve.
        code, out, err = self.agent(pol, "/usr/bin/node", "-e", FETCH, "https://other.example.test/digest")
        self.assertEqual(out.strip(), "error https://other.example.test/digest ENOTFOUND", err)


class GitClone(EgressTest):
    def test_git_clones_over_https_from_a_real_git_server(self):
        if not self.world.fcgiwrap:
            if os.environ.get("CI") == "true":
                self.fail("fcgiwrap is missing: scripts/install-deps.sh installs it")
            self.skipTest("fcgiwrap is not installed (scripts/install-deps.sh installs it)")
        work = self.tmp / "clones"
        work.mkdir(exist_ok=True)
        shutil.chown(work, OWNER, OWNER)
        env = {"GIT_SSL_CAINFO": str(self.world.ca_cert), "HOME": str(work)}
        url = "https://api.example.test/git/repo.git"
        pol = self.egress_policy("git", allow=["api.example.test:443"], write=[str(work)], env=env,
                                 command=["/usr/bin/git"], exec=["/usr/lib/git-core"])
        code, out, err = self.agent(pol, "/usr/bin/git", "clone", "-q", url, str(work / "repo"))
        self.assertEqual(code, 0, out + err)
        self.assertEqual((work / "repo" / "README").read_text(), "cloned through the gateway\n")
        # Control: the same server under a name the policy does not grant.
        pol = self.egress_policy("git-other", allow=["api.example.test:443"], write=[str(work)], env=env,
                                 command=["/usr/bin/git"], exec=["/usr/lib/git-core"])
        code, out, err = self.agent(pol, "/usr/bin/git", "clone", "-q", url.replace("api.", "other."), str(work / "other"))
        self.assertNotEqual(code, 0)
        self.assertFalse((work / "other").exists())
        self.assertIn("403", err)


if __name__ == "__main__":
    unittest.main()
