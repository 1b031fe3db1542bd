// electron-vite builds a `?modulePath` import as its own bundle and yields its absolute path.
declare module '*?modulePath' {
  const modulePath: string
  export default modulePath
}
