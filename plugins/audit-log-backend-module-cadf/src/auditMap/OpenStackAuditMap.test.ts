import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
// eslint-disable-next-line @backstage/no-relative-monorepo-imports -- tests share the repository's test harness (test/), which is no package
import { OPENSTACK_DIR, PYTHON } from '../../../../test/openstack/harness';
import { OpenStackAuditMap } from './OpenStackAuditMap';

/**
 * Our reading of OpenStack audit map files, judged by keystonemiddleware's
 * own code (OpenStackAuditApi, run by audit_map_judge.py) on the same files
 * and the same requests: the maps OpenStack ships with pycadf (Debian's
 * pycadf-common, /etc/pycadf), a map for a Backstage portal, and a map of
 * configparser corner cases.
 */

interface JudgeRequest {
  method: string;
  path: string;
  body?: unknown;
}
interface JudgeOutput {
  error?: string;
  map: {
    pathKeywords: Record<string, string>;
    customActions: Record<string, string>;
    serviceEndpoints: Record<string, string>;
    targetEndpointType: string | null;
  };
  results: Array<{ action?: string; typeURI?: string; error?: string }>;
}

function judge(
  map: string,
  serviceType: string,
  requests: JudgeRequest[],
): Promise<JudgeOutput> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      PYTHON,
      [path.join(OPENSTACK_DIR, 'audit_map_judge.py')],
      { maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error) {
          reject(new Error(`${error.message}\n${stderr}`));
        } else {
          resolve(JSON.parse(stdout));
        }
      },
    );
    child.stdin!.end(JSON.stringify({ map, serviceType, requests }));
  });
}

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE', 'HEAD', 'OPTIONS'];

/** Requests that walk every keyword and custom action of a map, in every shape keystonemiddleware distinguishes. */
function requestsFor(map: OpenStackAuditMap): JudgeRequest[] {
  const { pathKeywords, customActions } = map.sections();
  const words = [...Object.keys(pathKeywords), 'unlisted'];
  const endings = Object.keys(customActions).map(k => k.split('/')[0]);
  const paths = new Set<string>(['/', '/v2', '/v2/']);
  for (const w of words) {
    paths.add(`/v2/${w}`);
    paths.add(`/v2/${w}/`);
    paths.add(`/v2/${w}.json`);
    paths.add(`/v2/${w}/1f2e3d?detail=true&token=***`);
    paths.add(`/v2/${w}/1f2e3d/${words[0]}/9a8b`);
    paths.add(`/v2/${w}/1f2e3d/action`);
    for (const e of endings) {
      paths.add(`/v2/${w}/1f2e3d/${e}`);
    }
  }
  paths.add('/api/catalog/entities/by-name/component/default/x%20y');
  const requests: JudgeRequest[] = [];
  for (const p of paths) {
    for (const method of METHODS) {
      requests.push({ method, path: p });
    }
    if (p.endsWith('/action')) {
      requests.push({ method: 'POST', path: p, body: { 'os-start': null } });
      requests.push({ method: 'POST', path: p, body: {} });
    }
  }
  return requests;
}

const shipped = fs.existsSync('/etc/pycadf')
  ? fs
      .readdirSync('/etc/pycadf')
      .filter(f => f.endsWith('_api_audit_map.conf'))
      .map(f => path.join('/etc/pycadf', f))
  : [];
const ours = [
  path.join(OPENSTACK_DIR, 'maps/backstage_api_audit_map.conf'),
  path.join(OPENSTACK_DIR, 'maps/edge_cases.conf'),
];

describe('OpenStackAuditMap, judged by keystonemiddleware', () => {
  it('has OpenStack maps to be judged on (pycadf-common installed)', () => {
    // .ci/run installs python3-pycadf, which brings pycadf-common's maps.
    expect(shipped.length).toBeGreaterThanOrEqual(5);
  });

  it.each([...shipped, ...ours])(
    'reads %s, and gives every request the action and target type keystonemiddleware gives it',
    async file => {
      const map = OpenStackAuditMap.fromFile(file);
      const requests = requestsFor(map);
      const out = await judge(file, 'service/test', requests);
      expect(out.error).toBeUndefined();

      // configparser also copies [DEFAULT]'s keys into every section; we do not (see the class).
      const defaults =
        out.map.targetEndpointType !== null ? ['target_endpoint_type'] : [];
      const strip = (o: Record<string, string>) =>
        Object.fromEntries(
          Object.entries(o).filter(([k]) => !defaults.includes(k)),
        );
      const sections = map.sections();
      expect(sections.pathKeywords).toEqual(strip(out.map.pathKeywords));
      expect(sections.customActions).toEqual(strip(out.map.customActions));
      expect(sections.serviceEndpoints).toEqual(
        strip(out.map.serviceEndpoints),
      );
      expect(sections.targetEndpointType ?? null).toEqual(
        out.map.targetEndpointType,
      );

      const mismatches = requests
        .map((r, i) => {
          const pathOnly = r.path.split('?')[0];
          const mine = {
            action: map.action(r.method, pathOnly, r.body),
            typeURI: map.targetType(pathOnly, 'service/test'),
          };
          return { request: r, mine, theirs: out.results[i] };
        })
        .filter(
          m =>
            m.theirs.error !== undefined ||
            m.mine.action !== m.theirs.action ||
            m.mine.typeURI !== m.theirs.typeURI,
        );
      expect(mismatches).toEqual([]);
      expect(requests.length).toBeGreaterThan(50);
    },
    60_000,
  );

  it('gives the Backstage map the service type of the plugin, else of target_endpoint_type', () => {
    const map = OpenStackAuditMap.fromFile(ours[0]);
    expect(map.serviceType('catalog')).toBe('service/catalog');
    expect(map.serviceType('audit-log')).toBe('service/portal');
    expect(
      OpenStackAuditMap.parse('[path_keywords]\nx = y\n').serviceType(
        'catalog',
      ),
    ).toBeUndefined();
  });

  it('refuses actions and service types pycadf would refuse, naming the file and key', () => {
    expect(() =>
      OpenStackAuditMap.parse('[custom_actions]\nfoo = explode\n', 'm.conf'),
    ).toThrow('m.conf: [custom_actions] foo = explode is not a CADF action');
    expect(() =>
      OpenStackAuditMap.parse(
        '[service_endpoints]\ncatalog = catalog\n',
        'm.conf',
      ),
    ).toThrow(
      'm.conf: [service_endpoints] catalog = catalog is not a CADF resource typeURI',
    );
    expect(() => OpenStackAuditMap.fromFile('/nonexistent/map.conf')).toThrow(
      'Cannot read the audit map file /nonexistent/map.conf',
    );
  });
});
