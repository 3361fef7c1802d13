// The machine's PostgreSQL (trust auth); TestDatabases creates a throwaway database per run in it.
process.env.BACKSTAGE_TEST_DATABASE_POSTGRES15_CONNECTION_STRING ??=
  'postgresql://postgres@127.0.0.1:5432/test';
