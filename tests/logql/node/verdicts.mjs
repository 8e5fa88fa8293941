// Grafana's LogQL grammar (@grafana/lezer-logql) on a list of expressions: reads a JSON array of strings
// on stdin, writes a JSON array of {valid, at} (at: offset of the first error node, or null).
// lezer recovers from errors, so an invalid expression still yields a tree: any error node (⚠) in it
// means the grammar rejects the text.
import { parser } from "@grafana/lezer-logql";

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const expressions = JSON.parse(Buffer.concat(chunks).toString("utf8"));

const verdicts = expressions.map((expr) => {
  let at = null;
  parser.parse(expr).iterate({
    enter(node) {
      if (at === null && node.type.isError) at = node.from;
    },
  });
  return { valid: at === null, at };
});
process.stdout.write(JSON.stringify(verdicts));
