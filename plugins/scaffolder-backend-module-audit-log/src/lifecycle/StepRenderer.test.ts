import { StepRenderer, StepRendererOptions } from './StepRenderer';

function renderer(overrides: Partial<StepRendererOptions> = {}) {
  return StepRenderer.create({
    parameters: { name: 'World', envs: ['dev', 'prod'] },
    user: { ref: 'user:default/alice' },
    taskId: 'task-1',
    secretNames: ['deployKey'],
    environment: { parameters: { region: 'eu' }, secretNames: ['envKey'] },
    ...overrides,
  });
}

describe('StepRenderer', () => {
  it('renders inputs with every secret, and anything derived from one, masked', () => {
    const input = {
      plain: 'Hello, ${{ parameters.name }}!',
      key: '${{ secrets.deployKey }}',
      derived:
        '${{ secrets.deployKey | upper }}-${{ secrets.deployKey | length }}',
      env: '${{ environment.parameters.region }}/${{ environment.secrets.envKey }}',
      nested: [{ who: '${{ user.ref }}', task: '${{ context.task.id }}' }],
      count: 3,
    };
    expect(renderer().render(input)).toEqual({
      plain: 'Hello, World!',
      key: '***',
      derived: '***-3',
      env: 'eu/***',
      nested: [{ who: 'user:default/alice', task: 'task-1' }],
      count: 3,
    });
  });

  it('keeps what it cannot render faithfully as written', () => {
    const input = {
      fromStep: '${{ steps.fetch.output.url }}',
      eachOutsideIteration: 'to ${{ each.value }}',
      unknownFilter: '${{ parameters.name | someModuleFilter }}',
      syntax: '${{ parameters.name ',
    };
    expect(renderer().render(input)).toEqual(input);
  });

  it('keeps user and context references as written when they are unknown (dry runs)', () => {
    const input = { who: '${{ user.ref }}', task: '${{ context.task.id }}' };
    expect(
      renderer({ user: undefined, taskId: undefined }).render(input),
    ).toEqual(input);
  });

  it('renders an iteration with its each entry', () => {
    expect(
      renderer().render(
        { m: '${{ each.key }}=${{ each.value }} ${{ secrets.deployKey }}' },
        {
          key: '1',
          value: 'prod',
        },
      ),
    ).toEqual({ m: '1=prod ***' });
  });

  it('resolves each entries, unless they come from secrets or step outputs', () => {
    const r = renderer();
    expect(r.eachEntries('${{ parameters.envs }}')).toEqual([
      { key: '0', value: 'dev' },
      { key: '1', value: 'prod' },
    ]);
    expect(r.eachEntries({ a: 1 })).toEqual([{ key: 'a', value: 1 }]);
    expect(
      r.eachEntries('${{ secrets.deployKey | split(",") }}'),
    ).toBeUndefined();
    expect(r.eachEntries('${{ steps.list.output.items }}')).toBeUndefined();
    expect(r.eachEntries(['${{ parameters.name | nope }}'])).toBeUndefined();
    expect(r.eachEntries(undefined)).toBeUndefined();
  });

  it('renders the secrets map itself as masked names only', () => {
    expect(renderer().render({ all: '${{ secrets | dump }}' })).toEqual({
      all: '{"deployKey":"***"}',
    });
  });
});
