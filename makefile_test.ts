import { equal, match } from "node:assert/strict";

const ROOT = new URL(".", import.meta.url).pathname;

async function make(...args: string[]): Promise<{ code: number; output: string }> {
  const result = await new Deno.Command("make", { args: ["--no-print-directory", ...args], cwd: ROOT })
    .output();
  const text = new TextDecoder();
  return { code: result.code, output: text.decode(result.stdout) + text.decode(result.stderr) };
}

Deno.test("make cd refuses to push without CONFIRM=true and BRANCH_NAME", async () => {
  const unconfirmed = await make("cd", "BRANCH_NAME=main");
  equal(unconfirmed.code === 0, false);
  match(
    unconfirmed.output,
    /cd: refusing to publish without confirmation; run 'make cd CONFIRM=true BRANCH_NAME=\.\.\.'/,
  );
  equal(unconfirmed.output.includes("docker push"), false);
  const unnamed = await make("cd", "CONFIRM=true");
  equal(unnamed.code === 0, false);
  match(unnamed.output, /cd: BRANCH_NAME is required/);
});

Deno.test("make cd tags :BRANCH_NAME and :GIT_HASH and pushes both", async () => {
  const { code, output } = await make(
    "-n",
    "cd",
    "CONFIRM=true",
    "BRANCH_NAME=main",
    "GIT_HASH=abc1234",
    "IMAGE=x/ccm",
  );
  equal(code, 0);
  match(output, /docker tag x\/ccm:latest x\/ccm:main\ndocker tag x\/ccm:latest x\/ccm:abc1234\n/);
  match(output, /docker push x\/ccm:main\ndocker push x\/ccm:abc1234/);
});

Deno.test("make release refuses without CONFIRM=true and RELEASE_TAG", async () => {
  const unconfirmed = await make("release", "RELEASE_TAG=v1.0.0");
  equal(unconfirmed.code === 0, false);
  match(unconfirmed.output, /release: refusing to publish without confirmation/);
  const untagged = await make("release", "CONFIRM=true");
  equal(untagged.code === 0, false);
  match(untagged.output, /release: RELEASE_TAG is required/);
});

Deno.test("make release builds the five targets with the tag as version, then SHA256SUMS", async () => {
  const { code, output } = await make("-n", "release", "CONFIRM=true", "RELEASE_TAG=v1.2.3");
  equal(code, 0);
  match(output, /for target in linux\/amd64 linux\/arm64 darwin\/amd64 darwin\/arm64 windows\/amd64; do/);
  match(output, /VERSION="v1.2.3"/);
  match(output, /sha256sum cloud-provider-equinix-metal-\* > SHA256SUMS/);
});

Deno.test("build maps OS/ARCH to Deno targets and rejects others", async () => {
  const targets: [string, string, string][] = [
    ["linux", "amd64", "x86_64-unknown-linux-gnu"],
    ["linux", "arm64", "aarch64-unknown-linux-gnu"],
    ["darwin", "amd64", "x86_64-apple-darwin"],
    ["darwin", "arm64", "aarch64-apple-darwin"],
    ["windows", "amd64", "x86_64-pc-windows-msvc"],
  ];
  for (const [os, arch, target] of targets) {
    const result = await new Deno.Command(`${ROOT}.ci/build.sh`, { args: ["--print-target", os, arch] })
      .output();
    equal(new TextDecoder().decode(result.stdout).trim(), target);
  }
  const { code, output } = await make("build", "OS=plan9", "ARCH=amd64");
  equal(code === 0, false);
  match(output, /build: unsupported OS\/ARCH 'plan9\/amd64'; use linux\/amd64, /);
});

Deno.test("make build fails, saying why, when DENORT_BIN is not a runtime binary", async () => {
  const binary = `${ROOT}dist/bin/cloud-provider-equinix-metal-linux-arm64`;
  await Deno.mkdir(`${ROOT}dist/bin`, { recursive: true });
  await Deno.writeTextFile(binary, "stale binary from an earlier build");
  const { code, output } = await make("build", "OS=linux", "ARCH=arm64", "DENORT_BIN=/nonexistent/denort");
  equal(code === 0, false);
  match(
    output,
    /build: DENORT_BIN '\/nonexistent\/denort' is not an executable file; point it at a denort binary/,
  );
  equal(await Deno.stat(binary).then(() => true, () => false), false, "no binary is left behind");
});

Deno.test("make build DOCKERBUILD=true compiles inside the official Deno image", async () => {
  const { code, output } = await make(
    "-n",
    "build",
    "DOCKERBUILD=true",
    "OS=linux",
    "ARCH=amd64",
    "VERSION=v9",
  );
  equal(code, 0);
  match(output, /docker run --rm .* denoland\/deno:2\.9\.6 bash \.ci\/build\.sh "linux" "amd64"/s);
  match(output, /-e VERSION="v9"/);
});

Deno.test("make help lists the build and publish targets", async () => {
  const { code, output } = await make("help");
  equal(code, 0);
  for (const target of ["build", "image", "ci", "cd", "release", "test", "lint", "fmt", "check", "docs"]) {
    match(output, new RegExp(`^ {2}${target} `, "m"));
  }
});
