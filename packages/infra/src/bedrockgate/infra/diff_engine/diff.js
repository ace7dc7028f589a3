// CDK's own template diff (@aws-cdk/cloudformation-diff, the engine of `cdk diff`) as a line protocol,
// for bedrockgate-infra's replacement guard (bedrockgate/infra/template_diff.py).
//
// Each line on stdin is one request: {"stacks": [{"stack": NAME, "deployed": TEMPLATE | null,
// "synthesized": TEMPLATE}]}. Each answer is one line on stdout: {"engine": {...}, "stacks": [{"stack":
// NAME, "resources": [CHANGE...]}]} or {"error": MESSAGE}. A CHANGE is a resource that differs:
// {"logicalId", "oldType", "newType", "impact", "typeKnown", "properties": [{"name", "impact",
// "specKnown"}], "other": [NAME...]}. "impact" is the library's ResourceImpact name (WILL_REPLACE, ...).
// "specKnown" is false for a property the engine's resource spec does not describe: the engine then
// reports NO_CHANGE for it, so the caller, not this script, decides what an unknown change means.
'use strict';

const readline = require('node:readline');
const diff = require('@aws-cdk/cloudformation-diff');
// The engine's own lookup into its service spec (the same database fullDiff reads; loaded once).
const { loadResourceModel } = require('@aws-cdk/cloudformation-diff/lib/diff/util');
const engine = {
  package: '@aws-cdk/cloudformation-diff',
  version: require('@aws-cdk/cloudformation-diff/package.json').version,
  spec: require('@aws-cdk/aws-service-spec/package.json').version,
};

function resourceChange(logicalId, change) {
  const type = change.newResourceType ?? change.oldResourceType;
  const model = type === undefined ? undefined : loadResourceModel(type);
  const properties = Object.entries(change.propertyUpdates).map(([name, update]) => ({
    name,
    impact: update.changeImpact ?? 'NO_CHANGE',
    specKnown: model?.properties?.[name] !== undefined,
  }));
  return {
    logicalId,
    oldType: change.oldResourceType ?? null,
    newType: change.newResourceType ?? null,
    impact: change.changeImpact,
    typeKnown: model !== undefined,
    properties,
    other: Object.keys(change.otherChanges).sort(),
  };
}

function stackDiff({ stack, deployed, synthesized }) {
  const templateDiff = diff.fullDiff(deployed ?? {}, synthesized ?? {});
  const resources = [];
  templateDiff.resources.forEachDifference((logicalId, change) => {
    resources.push(resourceChange(logicalId, change));
  });
  return { stack, resources };
}

function answer(line) {
  try {
    const request = JSON.parse(line);
    return { engine, stacks: request.stacks.map(stackDiff) };
  } catch (error) {
    return { error: String(error?.stack ?? error) };
  }
}

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
lines.on('line', (line) => {
  if (line.trim() !== '') {
    process.stdout.write(`${JSON.stringify(answer(line))}\n`);
  }
});
