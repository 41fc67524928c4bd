/**
 * Checks a CloudFormation template against the resource schemas AWS publishes, as CDK ships them in
 * @aws-cdk/aws-service-spec: resource types, properties (existence, required, shape, recursively), and every
 * name a template refers to (Ref, Fn::GetAtt, Fn::Sub, Fn::If, DependsOn, Condition). That is what
 * CloudFormation rejects before it creates anything, found without an AWS account.
 *
 * `checkTemplate` returns problems as `LogicalId.Properties.Some.Path: what is wrong`; an empty list means the
 * template passed. Scalars are compared leniently (CloudFormation turns 5 into "5" and "5" into 5), containers
 * strictly (an object where a list goes is rejected at deploy).
 */
import { loadAwsServiceSpecSync } from '@aws-cdk/aws-service-spec';
import type { PropertyType, Resource, SpecDatabase, TypeDefinition } from '@aws-cdk/service-spec-types';

export type { SpecDatabase };

/** The database CDK ships (0.5 to 1 s to load: do it once per test file). */
export function loadSpec(): SpecDatabase {
  return loadAwsServiceSpecSync();
}

type Json = any;

const TEMPLATE_SECTIONS = new Set([
  'AWSTemplateFormatVersion',
  'Description',
  'Metadata',
  'Parameters',
  'Rules',
  'Mappings',
  'Conditions',
  'Transform',
  'Resources',
  'Outputs',
]);
const RESOURCE_KEYS = new Set([
  'Type',
  'Properties',
  'DependsOn',
  'Condition',
  'DeletionPolicy',
  'UpdateReplacePolicy',
  'Metadata',
  'UpdatePolicy',
  'CreationPolicy',
]);
const DELETION_POLICIES = ['Delete', 'Retain', 'RetainExceptOnCreate', 'Snapshot'];
const UPDATE_REPLACE_POLICIES = ['Delete', 'Retain', 'Snapshot'];
const OUTPUT_KEYS = new Set(['Description', 'Value', 'Export', 'Condition']);
const PSEUDO_PARAMETERS = new Set([
  'AWS::AccountId',
  'AWS::NotificationARNs',
  'AWS::NoValue',
  'AWS::Partition',
  'AWS::Region',
  'AWS::StackId',
  'AWS::StackName',
  'AWS::URLSuffix',
]);
const CUSTOM_RESOURCE = 'AWS::CloudFormation::CustomResource';

const isObject = (value: Json): value is Record<string, Json> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** `{ Ref: ... }` or `{ "Fn::...": ... }`: its value is known only at deploy time. */
function intrinsicName(value: Json): string | undefined {
  if (!isObject(value)) return undefined;
  const keys = Object.keys(value);
  return keys.length === 1 && (keys[0] === 'Ref' || keys[0].startsWith('Fn::')) ? keys[0] : undefined;
}

/** `{ Ref: AWS::NoValue }`, or a Fn::If with it as one of its outcomes: the property may be absent. */
function mayBeNoValue(value: Json): boolean {
  if (intrinsicName(value) === 'Ref') return value.Ref === 'AWS::NoValue';
  const branches = intrinsicName(value) === 'Fn::If' ? value['Fn::If'] : undefined;
  return Array.isArray(branches) && branches.slice(1).some(mayBeNoValue);
}

function kindOf(value: Json): string {
  if (Array.isArray(value)) return 'list';
  if (value === null) return 'null';
  return typeof value === 'object' ? 'object' : typeof value;
}

const isScalar = (value: Json) => ['string', 'number', 'boolean'].includes(typeof value);

class Checker {
  readonly problems: string[] = [];
  private readonly resources: Record<string, Json>;
  private readonly parameters: Set<string>;
  private readonly conditions: Set<string>;
  private readonly mappings: Set<string>;
  private readonly transforms: Set<string>;

  constructor(
    private readonly db: SpecDatabase,
    private readonly template: Json,
  ) {
    this.resources = isObject(template.Resources) ? template.Resources : {};
    this.parameters = new Set(Object.keys(template.Parameters ?? {}));
    this.conditions = new Set(Object.keys(template.Conditions ?? {}));
    this.mappings = new Set(Object.keys(template.Mappings ?? {}));
    this.transforms = new Set([template.Transform ?? []].flat().filter((t: Json) => typeof t === 'string'));
  }

  private report(path: string, message: string): void {
    this.problems.push(`${path}: ${message}`);
  }

  private schemaOf(type: string): Resource | undefined {
    return this.db.lookup('resource', 'cloudFormationType', 'equals', type)[0];
  }

  private isCustom(type: string): boolean {
    return type === CUSTOM_RESOURCE || type.startsWith('Custom::');
  }

  run(): string[] {
    const t = this.template;
    if (!isObject(t)) {
      this.report('(template)', `expected object, got ${kindOf(t)}`);
      return this.problems;
    }
    for (const key of Object.keys(t)) if (!TEMPLATE_SECTIONS.has(key)) this.report(key, 'not a template section');
    if (!isObject(t.Resources) || Object.keys(t.Resources).length === 0)
      this.report('Resources', 'a template needs at least one resource');
    for (const [name, parameter] of Object.entries<Json>(t.Parameters ?? {})) {
      if (typeof parameter?.Type !== 'string') this.report(`Parameters.${name}.Type`, 'required, missing');
    }
    for (const [name, condition] of Object.entries<Json>(t.Conditions ?? {})) {
      this.checkReferences(condition, `Conditions.${name}`, true);
    }
    for (const [id, resource] of Object.entries(this.resources)) this.checkResource(id, resource);
    for (const [name, output] of Object.entries<Json>(t.Outputs ?? {})) this.checkOutput(name, output);
    return this.problems;
  }

  private checkResource(id: string, resource: Json): void {
    if (!isObject(resource)) {
      this.report(id, `expected object, got ${kindOf(resource)}`);
      return;
    }
    for (const key of Object.keys(resource)) {
      if (!RESOURCE_KEYS.has(key)) this.report(`${id}.${key}`, 'not a resource attribute');
    }
    if (resource.Condition !== undefined) this.checkConditionName(resource.Condition, `${id}.Condition`);
    for (const [key, allowed] of [
      ['DeletionPolicy', DELETION_POLICIES],
      ['UpdateReplacePolicy', UPDATE_REPLACE_POLICIES],
    ] as const) {
      const policy = resource[key];
      if (policy !== undefined && !allowed.includes(policy))
        this.report(`${id}.${key}`, `expected one of ${allowed.join(' | ')}, got ${JSON.stringify(policy)}`);
    }
    if (resource.DependsOn !== undefined) {
      for (const target of [resource.DependsOn].flat()) {
        if (typeof target !== 'string') this.report(`${id}.DependsOn`, `expected resource name, got ${kindOf(target)}`);
        else if (target === id) this.report(`${id}.DependsOn`, `${id} depends on itself`);
        else if (!(target in this.resources)) this.report(`${id}.DependsOn`, `${target} is not a resource`);
      }
    }

    const type = resource.Type;
    const properties = resource.Properties ?? {};
    const path = `${id}.Properties`;
    if (!isObject(properties)) {
      this.report(path, `expected object, got ${kindOf(properties)}`);
      return;
    }
    if (typeof type !== 'string') {
      this.report(`${id}.Type`, type === undefined ? 'required, missing' : `expected string, got ${kindOf(type)}`);
      this.checkReferences(properties, path);
      return;
    }
    if (type.startsWith('Custom::')) {
      // Any property goes to the provider; only the token that finds it is required.
      if (properties.ServiceToken === undefined) this.report(`${path}.ServiceToken`, `required by ${type}, missing`);
      this.checkReferences(properties, path);
      return;
    }
    const schema = this.schemaOf(type);
    if (!schema) {
      this.report(`${id}.Type`, `${type} is not a resource type`);
      this.checkReferences(properties, path);
      return;
    }
    if (schema.cloudFormationTransform && !this.transforms.has(schema.cloudFormationTransform))
      this.report(`${id}.Type`, `${type} needs Transform ${schema.cloudFormationTransform}`);
    this.checkProperties(properties, schema.properties, type, type, path, type === CUSTOM_RESOURCE);
  }

  /**
   * An object against the properties of `owner` (a resource type, or one of its property types named as the
   * CloudFormation docs do: AWS::Lambda::Function.Environment). `open`: unknown keys are allowed.
   */
  private checkProperties(
    value: Record<string, Json>,
    properties: TypeDefinition['properties'],
    owner: string,
    resourceType: string,
    path: string,
    open = false,
  ): void {
    for (const [name, child] of Object.entries(value)) {
      const property = properties[name];
      if (property) this.checkValue(child, property.type, resourceType, `${path}.${name}`);
      else if (open) this.checkReferences(child, `${path}.${name}`);
      else {
        this.report(`${path}.${name}`, `not a property of ${owner}`);
        this.checkReferences(child, `${path}.${name}`);
      }
    }
    for (const [name, property] of Object.entries(properties)) {
      if (!property.required) continue;
      if (value[name] === undefined) this.report(`${path}.${name}`, `required by ${owner}, missing`);
      else if (mayBeNoValue(value[name]))
        this.report(`${path}.${name}`, `required by ${owner}, but AWS::NoValue may remove it`);
    }
  }

  /** A value against a property type, problems reported under `path`. */
  private checkValue(value: Json, type: PropertyType, resourceType: string, path: string): void {
    const intrinsic = intrinsicName(value);
    if (intrinsic === 'Fn::If' && Array.isArray(value['Fn::If']) && value['Fn::If'].length === 3) {
      // Either branch may be the one deployed: both must fit, unless it removes the property.
      const [condition, whenTrue, whenFalse] = value['Fn::If'];
      this.checkConditionName(condition, `${path}.Fn::If[0]`, 'Fn::If condition ');
      this.checkValue(whenTrue, type, resourceType, `${path}.Fn::If[1]`);
      this.checkValue(whenFalse, type, resourceType, `${path}.Fn::If[2]`);
      return;
    }
    if (intrinsic) {
      if (!(intrinsic === 'Ref' && value.Ref === 'AWS::NoValue')) this.checkReferences(value, path);
      return;
    }
    const mismatch = this.shapeMismatch(value, type);
    if (mismatch) {
      this.report(path, mismatch);
      this.checkReferences(value, path);
      return;
    }
    switch (type.type) {
      case 'array':
        value.forEach((element: Json, index: number) => {
          this.checkValue(element, type.element, resourceType, `${path}[${index}]`);
        });
        return;
      case 'map':
        for (const [key, element] of Object.entries(value))
          this.checkValue(element, type.element, resourceType, `${path}.${key}`);
        return;
      case 'tag':
        this.checkProperties(
          value,
          { Key: { type: { type: 'string' }, required: true }, Value: { type: { type: 'string' }, required: true } },
          'Tag',
          resourceType,
          path,
        );
        return;
      case 'ref': {
        const definition = this.db.get('typeDefinition', type.reference);
        // A definition without properties is a free-form object in the schema.
        if (Object.keys(definition.properties).length === 0) this.checkReferences(value, path);
        else
          this.checkProperties(value, definition.properties, `${resourceType}.${definition.name}`, resourceType, path);
        return;
      }
      case 'union': {
        // Fits some member: fine. Otherwise the closest member (fewest problems) says best what is wrong; at
        // least one member has the value's shape, or shapeMismatch would have reported it above.
        const attempts = type.types
          .filter((member) => !this.shapeMismatch(value, member))
          .map((member) => this.attempt(() => this.checkValue(value, member, resourceType, path)));
        if (attempts.some((problems) => problems.length === 0)) return;
        this.problems.push(...attempts.reduce((best, problems) => (problems.length < best.length ? problems : best)));
        return;
      }
      default:
        if (type.type === 'json') this.checkReferences(value, path);
    }
  }

  /** The problems `check` would report, taken back out of the report. */
  private attempt(check: () => void): string[] {
    const before = this.problems.length;
    check();
    return this.problems.splice(before);
  }

  /** Why `value` (not an intrinsic) cannot be of `type` at its top level, or undefined if it can. */
  private shapeMismatch(value: Json, type: PropertyType): string | undefined {
    // Scalars are shown: "expected number, got string \"ten\"" says more than the kind alone.
    const expected = `expected ${this.describe(type)}, got ${kindOf(value)}${isScalar(value) ? ` ${JSON.stringify(value)}` : ''}`;
    switch (type.type) {
      case 'json':
        return undefined;
      case 'null':
        return value === null ? undefined : expected;
      case 'string':
      case 'date-time':
        if (!isScalar(value)) return expected;
        if (type.type === 'string' && type.allowedValues && !type.allowedValues.includes(String(value)))
          return `expected one of ${type.allowedValues.join(' | ')}, got ${JSON.stringify(value)}`;
        return undefined;
      case 'number':
      case 'integer': {
        const number = typeof value === 'string' && value.trim() !== '' ? Number(value) : value;
        if (typeof number !== 'number' || !Number.isFinite(number)) return expected;
        if (type.type === 'integer' && !Number.isInteger(number)) return expected;
        return undefined;
      }
      case 'boolean':
        return typeof value === 'boolean' || (typeof value === 'string' && /^(true|false)$/i.test(value))
          ? undefined
          : expected;
      case 'array':
        return Array.isArray(value) ? undefined : expected;
      case 'map':
      case 'tag':
      case 'ref':
        return isObject(value) ? undefined : expected;
      case 'union':
        return type.types.every((member) => this.shapeMismatch(value, member)) ? expected : undefined;
    }
  }

  /** A type as the CloudFormation docs would name it. */
  private describe(type: PropertyType): string {
    switch (type.type) {
      case 'array':
        return `list of ${this.describe(type.element)}`;
      case 'map':
        return `map of ${this.describe(type.element)}`;
      case 'ref':
        return this.db.get('typeDefinition', type.reference).name;
      case 'union':
        return type.types.map((member) => this.describe(member)).join(' | ');
      default:
        return type.type;
    }
  }

  private checkOutput(name: string, output: Json): void {
    const path = `Outputs.${name}`;
    if (!isObject(output)) {
      this.report(path, `expected object, got ${kindOf(output)}`);
      return;
    }
    for (const key of Object.keys(output))
      if (!OUTPUT_KEYS.has(key)) this.report(`${path}.${key}`, 'not an output key');
    if (output.Value === undefined) this.report(`${path}.Value`, 'required, missing');
    if (output.Condition !== undefined) this.checkConditionName(output.Condition, `${path}.Condition`);
    this.checkReferences(output.Value, `${path}.Value`);
    this.checkReferences(output.Export, `${path}.Export`);
  }

  private checkConditionName(name: Json, path: string, what = ''): void {
    if (typeof name !== 'string') this.report(path, `${what}expected condition name, got ${kindOf(name)}`);
    else if (!this.conditions.has(name)) this.report(path, `${what}${name} is not a condition`);
  }

  /**
   * Every name a value refers to, wherever it sits (property, policy document, intrinsic argument).
   * `inConditions`: a condition may refer to parameters only, and to other conditions by `Condition`.
   */
  private checkReferences(value: Json, path: string, inConditions = false): void {
    if (Array.isArray(value)) {
      value.forEach((element, index) => {
        this.checkReferences(element, `${path}[${index}]`, inConditions);
      });
      return;
    }
    if (!isObject(value)) return;
    const intrinsic = intrinsicName(value);
    const argument = intrinsic ? value[intrinsic] : undefined;
    switch (intrinsic) {
      case 'Ref':
        if (typeof argument === 'string') this.checkRef(argument, path, `Ref ${argument}`, inConditions);
        else this.report(path, `Ref expects a name, got ${kindOf(argument)}`);
        return;
      case 'Fn::GetAtt':
        if (inConditions) this.report(path, 'Fn::GetAtt is not allowed in a condition');
        this.checkGetAtt(argument, path);
        return;
      case 'Fn::Sub':
        this.checkSub(argument, path, inConditions);
        return;
      case 'Fn::If':
        if (!Array.isArray(argument) || argument.length !== 3) {
          this.report(path, `Fn::If expects [condition, value if true, value if false], got ${kindOf(argument)}`);
          return;
        }
        this.checkConditionName(argument[0], `${path}.Fn::If[0]`, 'Fn::If condition ');
        this.checkReferences(argument[1], `${path}.Fn::If[1]`, inConditions);
        this.checkReferences(argument[2], `${path}.Fn::If[2]`, inConditions);
        return;
      case 'Fn::FindInMap':
        if (Array.isArray(argument) && typeof argument[0] === 'string' && !this.mappings.has(argument[0]))
          this.report(path, `Fn::FindInMap ${argument[0]} is not a mapping`);
        break;
    }
    if (inConditions && !intrinsic && Object.keys(value).length === 1 && 'Condition' in value) {
      this.checkConditionName(value.Condition, `${path}.Condition`);
      return;
    }
    for (const [key, child] of Object.entries(value)) this.checkReferences(child, `${path}.${key}`, inConditions);
  }

  /** `label`: the reference as written (`Ref X`, `Fn::Sub ${X}`), to start the message with. */
  private checkRef(name: string, path: string, label: string, inConditions: boolean): void {
    if (this.parameters.has(name) || PSEUDO_PARAMETERS.has(name)) return;
    if (name in this.resources) {
      if (inConditions) this.report(path, `${label}: a condition may refer to parameters only`);
      return;
    }
    this.report(path, `${label} names no resource, parameter or pseudo parameter`);
  }

  private checkGetAtt(argument: Json, path: string): void {
    let id: Json;
    let attribute: Json;
    if (typeof argument === 'string') {
      const dot = argument.indexOf('.');
      [id, attribute] = dot < 0 ? [argument, undefined] : [argument.slice(0, dot), argument.slice(dot + 1)];
    } else if (Array.isArray(argument) && argument.length === 2) {
      [id, attribute] = argument;
      // The attribute name may itself be computed (a Ref to a parameter): check what it refers to.
      if (typeof attribute !== 'string') this.checkReferences(attribute, `${path}.Fn::GetAtt[1]`);
    }
    if (typeof id !== 'string' || attribute === undefined) {
      this.report(
        path,
        `Fn::GetAtt expects [resource, attribute] or "resource.attribute", got ${JSON.stringify(argument)}`,
      );
      return;
    }
    this.checkAttribute(id, attribute, path, `Fn::GetAtt ${typeof attribute === 'string' ? `${id}.${attribute}` : id}`);
  }

  private checkAttribute(id: string, attribute: Json, path: string, label: string): void {
    const resource = this.resources[id];
    if (!resource) {
      this.report(path, `${label} names no resource`);
      return;
    }
    if (typeof attribute !== 'string' || typeof resource.Type !== 'string' || this.isCustom(resource.Type)) return;
    const schema = this.schemaOf(resource.Type);
    if (schema && !(attribute in schema.attributes)) {
      const known = Object.keys(schema.attributes);
      this.report(
        path,
        `${label}: ${resource.Type} has no attribute ${attribute} (it has ${known.join(', ') || 'none'})`,
      );
    }
  }

  private checkSub(argument: Json, path: string, inConditions: boolean): void {
    const [text, variables] = Array.isArray(argument) ? argument : [argument, {}];
    if (typeof text !== 'string' || !isObject(variables)) {
      this.report(path, `Fn::Sub expects a string or [string, {variables}], got ${kindOf(argument)}`);
      return;
    }
    for (const [name, variable] of Object.entries(variables))
      this.checkReferences(variable, `${path}.Fn::Sub[1].${name}`, inConditions);
    // ${!Literal} is written out as ${Literal}, not substituted.
    for (const [, name] of text.matchAll(/\$\{(?!!)([^}]*)\}/g)) {
      const trimmed = name.trim();
      if (trimmed in variables) continue;
      const dot = trimmed.indexOf('.');
      const label = `Fn::Sub \${${trimmed}}`;
      if (dot < 0) this.checkRef(trimmed, path, label, inConditions);
      else this.checkAttribute(trimmed.slice(0, dot), trimmed.slice(dot + 1), path, label);
    }
  }
}

/** Every problem CloudFormation's schema validation (and reference resolution) would find in `template`. */
export function checkTemplate(template: unknown, db: SpecDatabase): string[] {
  return new Checker(db, template).run();
}
