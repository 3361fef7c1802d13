import {
  createTemplateRenderer,
  PreparedTemplateContext,
  TemplateFilter,
  TemplateRenderer,
  TemplateValue,
} from 'nunjitsu';

/** What every secret is replaced with before anything is rendered. */
export const MASKED_SECRET = '***';

/** @public */
export interface StepRendererOptions {
  parameters: unknown;
  /** `spec.user`; omit when the user entity is unknown (dry runs). */
  user?: unknown;
  /** `context.task.id`, the workspace name the runner renders with; unknown for dry runs. */
  taskId?: string;
  /** Names of the task's secrets: only the names, every value becomes `***`. */
  secretNames: string[];
  environment: { parameters: Record<string, string>; secretNames: string[] };
  filters?: Record<string, TemplateFilter>;
}

/** One `each` entry as the runner exposes it to templates. */
export interface EachEntry {
  key: string;
  value: unknown;
}

const EXPRESSION = /\$\{\{([\s\S]*?)\}\}|\{%([\s\S]*?)%\}/g;
const mask = (names: string[]) =>
  Object.fromEntries(names.map(name => [name, MASKED_SECRET]));

/** Whether an expression of `template` names one of `roots` as a variable. */
function references(template: string, roots: RegExp): boolean {
  EXPRESSION.lastIndex = 0;
  for (let m = EXPRESSION.exec(template); m; m = EXPRESSION.exec(template)) {
    roots.lastIndex = 0;
    if (roots.test(m[1] ?? m[2] ?? '')) {
      return true;
    }
  }
  return false;
}

const isTemplate = (s: string) => s.includes('${{') || s.includes('{%');
const rootsPattern = (names: string[]) =>
  new RegExp(`(?<![\\w.$])(?:${names.join('|')})\\b`);
/** `each` values that come from secrets would be counted and shown wrongly when masked. */
const SECRETS = /\bsecrets\b/;

class RenderFailure extends Error {}

/**
 * Best-effort re-rendering of step inputs for the audit record, the way
 * upstream's dry run does it: against the task's parameters, user and
 * environment with every secret replaced by `***` *before* rendering, so no
 * secret value (nor anything derived from one) can reach a record.
 *
 * A string is kept exactly as written when it cannot be rendered faithfully:
 * it refers to earlier steps' outputs (`steps.*`, never visible to the broker),
 * to `each` outside an iteration, to `user` or `context` when they are
 * unknown (dry runs), or it uses a filter or global this renderer lacks (filters added by other
 * modules; upstream's defaults when they could not be loaded).
 *
 * @public
 */
export class StepRenderer {
  readonly #renderer: TemplateRenderer;
  readonly #context?: PreparedTemplateContext;
  readonly #unavailable: string[];

  static create(options: StepRendererOptions): StepRenderer {
    return new StepRenderer(options);
  }

  private constructor(options: StepRendererOptions) {
    this.#renderer = createTemplateRenderer({
      allowRegexExecution: true,
      filters: options.filters,
    });
    this.#unavailable = [
      'steps',
      ...(options.user === undefined ? ['user'] : []),
      ...(options.taskId === undefined ? ['context'] : []),
    ];
    try {
      // A JSON round trip keeps the context to the closed data nunjitsu accepts.
      const data = JSON.parse(
        JSON.stringify({
          parameters: options.parameters ?? {},
          user: options.user,
          context:
            options.taskId === undefined
              ? undefined
              : { task: { id: options.taskId } },
          environment: {
            parameters: options.environment.parameters,
            secrets: mask(options.environment.secretNames),
          },
          secrets: mask(options.secretNames),
        }),
      ) as Record<string, TemplateValue>;
      this.#context = this.#renderer.prepareContext(data);
    } catch {
      // Unusual parameters: every template is then recorded as written.
      this.#context = undefined;
    }
  }

  /** A step's `input`, rendered where possible (see the class comment). */
  render(input: unknown, each?: EachEntry): unknown {
    return this.#renderTree(input, each, false);
  }

  /**
   * The entries a step's `each` resolves to, as upstream iterates them, or
   * undefined when they cannot be known without secrets or step outputs.
   */
  eachEntries(each: unknown): EachEntry[] | undefined {
    if (each === undefined || this.#mentions(each, SECRETS)) {
      return undefined;
    }
    try {
      const resolved = this.#renderTree(each, undefined, true);
      if (!resolved || typeof resolved !== 'object') {
        return undefined;
      }
      return Object.entries(resolved).map(([key, value]) => ({ key, value }));
    } catch {
      return undefined;
    }
  }

  #mentions(value: unknown, pattern: RegExp): boolean {
    if (typeof value === 'string') {
      return references(value, pattern);
    }
    if (value && typeof value === 'object') {
      return Object.values(value).some(v => this.#mentions(v, pattern));
    }
    return false;
  }

  #renderTree(
    value: unknown,
    each: EachEntry | undefined,
    strict: boolean,
  ): unknown {
    const context = this.#contextFor(each);
    const unavailable = rootsPattern(
      each ? this.#unavailable : [...this.#unavailable, 'each'],
    );
    let json: string | undefined;
    try {
      json = JSON.stringify(value);
    } catch {
      if (strict) throw new RenderFailure();
      return value;
    }
    if (json === undefined) {
      return value;
    }
    // Upstream's own traversal: every string of the tree is rendered in place.
    return JSON.parse(json, (_key, v: unknown) => {
      if (typeof v !== 'string' || !isTemplate(v)) {
        return v;
      }
      if (!context || references(v, unavailable)) {
        if (strict) throw new RenderFailure();
        return v;
      }
      try {
        // As the runner renders inputs since scaffolder-backend 4.3.
        return this.#renderer.renderValue(v, context, { coercion: 'json' });
      } catch {
        if (strict) throw new RenderFailure();
        return v;
      }
    });
  }

  #contextFor(
    each: EachEntry | undefined,
  ): PreparedTemplateContext | undefined {
    if (!this.#context || !each) {
      return this.#context;
    }
    try {
      return this.#context.withValue(
        ['each'],
        JSON.parse(JSON.stringify(each)) as TemplateValue,
      );
    } catch {
      return undefined;
    }
  }
}
