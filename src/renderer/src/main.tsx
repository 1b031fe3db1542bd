import './zod-config.js'
import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { detectEnvironment, watchAccessLink } from './bridge/environment.js'
import { AppController } from './model/app-controller.js'
import { App, MissingToken } from './ui/App.js'
import { preloadSaveFile } from './ui/save-file.js'
import './styles.css'

const container = document.getElementById('root')
if (!container) throw new Error('no #root element')
const root = createRoot(container)
const detected = detectEnvironment(window)
// An access link pasted into this tab (only its fragment changes): start again with its token.
if (!detected.ok || detected.environment.kind === 'browser') watchAccessLink(window, () => window.location.reload())

if (!detected.ok) {
  root.render(<MissingToken />)
} else {
  const environment = detected.environment
  const controller = new AppController(environment.bridge, {
    ...(environment.onDidClose && { onDidClose: environment.onDidClose }),
    ...(environment.onDidReconnect && { onDidReconnect: environment.onDidReconnect }),
  })
  void controller.start()
  root.render(
    <StrictMode>
      <App controller={controller} environment={{ ...environment, saveFile: preloadSaveFile(window) }} />
    </StrictMode>,
  )
}
