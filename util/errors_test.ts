import { equal } from "node:assert/strict";
import { errorMessage } from "./errors.ts";

Deno.test("errorMessage() is the message of an Error, or of anything else that was thrown", () => {
  equal(errorMessage(new Error("boom")), "boom");
  equal(errorMessage(new TypeError("bad type")), "bad type");
  equal(errorMessage(new DOMException("aborted", "AbortError")), "aborted");
  equal(errorMessage({ message: "error-like" }), "error-like");
  equal(errorMessage("a thrown string"), "a thrown string");
  equal(errorMessage(42), "42");
  equal(errorMessage(undefined), "undefined");
  equal(errorMessage(null), "null");
  equal(errorMessage({ message: 7 }), "[object Object]");
});
