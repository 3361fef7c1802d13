import { nameUuid } from './ids';

describe('nameUuid', () => {
  it("equals Python's uuid.uuid5 for the same namespace and name", () => {
    // Expected values from CPython 3.11: uuid.uuid5(uuid.UUID(namespace), name).
    expect(nameUuid('event', 'f203e4e7-ac87-48ee-8fe7-848b78a5f133')).toBe(
      '2b0ea234-70b6-5c6c-af7f-8c533f0f960d',
    );
    expect(nameUuid('account', 'user:default/alice')).toBe(
      'ed7d4cb1-59e0-52fe-a640-720720312e04',
    );
    expect(nameUuid('service', 'catalog')).toBe(
      'c88fa2af-24fd-5fc4-99b8-8109485cd024',
    );
    expect(nameUuid('message', 'completion\nünïcødé ✓')).toBe(
      'b2ee598a-5a7c-5385-ac77-ef51eddbc08c',
    );
  });
});
