// electron-builder configuration (`npm run dist`). CommonJS because package.json is "type": "module".
// Only the build output and package.json are packed; electron-builder adds the production
// dependencies (pidtree, ws, zod) from node_modules itself. Icons come from build/ (node build/make-icons.mjs).

/** @type {import('electron-builder').Configuration} */
module.exports = {
  appId: 'app.carhost.desktop',
  productName: 'CarHost',
  copyright: 'Copyright © CarHost',
  directories: { output: 'dist', buildResources: 'build' },
  files: ['out/**', 'package.json'],
  asar: true,
  // The SQLite binding (libsql, §11 Storage) is Node-API: its prebuilt binary loads in Node and in
  // Electron alike, so nothing is rebuilt (that would only fetch Electron headers). A native binary
  // cannot be loaded from inside an asar, so it is unpacked beside it.
  npmRebuild: false,
  asarUnpack: ['node_modules/@libsql/*/*.node'],
  extraMetadata: { main: './out/main/index.js' },
  electronFuses: {
    runAsNode: false,
    enableCookieEncryption: true,
    enableNodeOptionsEnvironmentVariable: false,
    enableNodeCliInspectArguments: false,
    enableEmbeddedAsarIntegrityValidation: true,
    onlyLoadAppFromAsar: true,
    grantFileProtocolExtraPrivileges: false,
  },
  linux: {
    target: ['AppImage', 'deb'],
    category: 'Development',
    maintainer: 'CarHost <team@carhost.invalid>',
    vendor: 'CarHost',
    executableName: 'carhost-desktop',
    synopsis: 'An in-app agent hub for desktop AI apps',
    icon: 'build/icon.png',
  },
  deb: { priority: 'optional' },
  win: { target: ['nsis'], icon: 'build/icon.ico' },
  nsis: { oneClick: false, perMachine: false, allowToChangeInstallationDirectory: true },
  mac: {
    target: ['dmg'],
    category: 'public.app-category.developer-tools',
    icon: 'build/icon.icns',
    hardenedRuntime: true,
  },
  dmg: { title: '${productName} ${version}' },
  publish: null,
}
