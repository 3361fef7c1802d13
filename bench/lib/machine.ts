import os from 'node:os';

export interface MachineInfo {
  cpuModel: string;
  cpuCount: number;
  totalMemBytes: number;
  totalMem: string;
  platform: string;
  release: string;
  arch: string;
  node: string;
  loadAvgAtStart: number[];
  date: string;
}

export function machineInfo(): MachineInfo {
  const cpus = os.cpus();
  return {
    cpuModel: cpus[0]?.model ?? 'unknown',
    cpuCount: cpus.length,
    totalMemBytes: os.totalmem(),
    totalMem: `${(os.totalmem() / 1024 ** 3).toFixed(1)} GiB`,
    platform: os.platform(),
    release: os.release(),
    arch: os.arch(),
    node: process.version,
    loadAvgAtStart: os.loadavg().map(l => Math.round(l * 100) / 100),
    date: new Date().toISOString(),
  };
}
