import type { Plugin } from 'vite';

export declare const widgetsDir: string;
export declare function newestWidgetSource(): number;
export declare function loadManifest(): Promise<{ schemaVersion: string; modules: unknown[] }>;
export declare function customElementsManifest(): Plugin;
