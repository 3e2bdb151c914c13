// toonlift offline avatar viewer: the GLB and the animation are embedded in the page (no network, works from file://).
// Loaded as an ES module whose imports resolve through the page's import map (three.js vendored from npm as data: URLs).
import * as THREE from 'three';
import { OrbitControls } from 'three/addons/OrbitControls';
import { GLTFLoader } from 'three/addons/GLTFLoader';

const status = document.getElementById('status');
const canvas = document.getElementById('view');
const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true });
renderer.setPixelRatio(1);
renderer.setClearColor(0x20232a, 1);
const scene = new THREE.Scene();
const camera = new THREE.PerspectiveCamera(30, 1, 0.01, 100);
scene.add(new THREE.HemisphereLight(0xffffff, 0x404040, 1.6));
const key = new THREE.DirectionalLight(0xffffff, 1.8);
key.position.set(0.5, 0.7, 1.0);
scene.add(key);
const controls = new OrbitControls(camera, canvas);
controls.addEventListener('change', () => render());

let mesh = null;
let animation = null;
let playing = false;
let frame = 0;
let startTime = 0;

function resize() {
  const w = canvas.clientWidth;
  const h = canvas.clientHeight;
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.updateProjectionMatrix();
}

function render() {
  renderer.render(scene, camera);
}

function decodeBase64(text) {
  const bin = atob(text.trim());
  const bytes = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  return bytes.buffer;
}

// draw = false lets a caller set many weights and render once
function setWeight(name, value, draw = true) {
  const k = mesh.morphTargetDictionary[name];
  if (k === undefined) throw new Error('no morph target named ' + name);
  mesh.morphTargetInfluences[k] = value;
  const slider = document.getElementById('slider-' + name);
  if (slider) slider.value = value;
  if (draw) render();
}

function buildSliders() {
  const panel = document.getElementById('sliders');
  for (const name of Object.keys(mesh.morphTargetDictionary)) {
    const row = document.createElement('label');
    const slider = document.createElement('input');
    slider.type = 'range';
    slider.min = '0';
    slider.max = '1';
    slider.step = '0.01';
    // start where the GLB's default weights (mesh.weights, applied by GLTFLoader) put the face
    slider.value = String(mesh.morphTargetInfluences[mesh.morphTargetDictionary[name]] || 0);
    slider.id = 'slider-' + name;
    slider.addEventListener('input', () => setWeight(name, parseFloat(slider.value)));
    row.append(slider, ' ' + name);
    panel.append(row);
  }
}

function showFrame(i) {
  const weights = animation.weights[i];
  animation.names.forEach((name, k) => setWeight(name, weights[k], false));
  render();
  document.getElementById('frame').textContent = `frame ${i + 1} / ${animation.weights.length}`;
}

function tick(now) {
  if (!playing) return;
  // a rAF timestamp is the frame's start and can precede the click that set startTime: clamp at 0
  const elapsed = Math.max(0, now - startTime);
  const i = Math.floor((elapsed / 1000) * animation.fps) % animation.weights.length;
  if (i !== frame) {
    frame = i;
    showFrame(i);
  }
  requestAnimationFrame(tick);
}

function setupPlayer() {
  const node = document.getElementById('animation');
  const button = document.getElementById('play');
  if (!node || !node.textContent.trim()) {
    button.disabled = true;
    button.textContent = 'no animation';
    return;
  }
  animation = JSON.parse(node.textContent);
  button.addEventListener('click', () => {
    playing = !playing;
    button.textContent = playing ? 'pause' : 'play';
    if (playing) {
      startTime = performance.now() - (frame / animation.fps) * 1000;
      requestAnimationFrame(tick);
    }
  });
  showFrame(0);
}

// Median milliseconds per frame over n renders that each change every morph weight; readPixels waits for the GPU.
function frameTime(n) {
  const gl = renderer.getContext();
  const pixel = new Uint8Array(4);
  const times = [];
  const names = Object.keys(mesh.morphTargetDictionary);
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    names.forEach((name, k) => (mesh.morphTargetInfluences[k] = 0.5 + 0.5 * Math.sin(i * 0.3 + k)));
    render();
    gl.readPixels(0, 0, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
    times.push(performance.now() - t0);
  }
  names.forEach((name, k) => (mesh.morphTargetInfluences[k] = 0));
  render();
  times.sort((a, b) => a - b);
  return times[Math.floor(n / 2)];
}

// Canvas pixel (x right, y down) of a point in the GLB's frame: lets a test look where a feature is drawn.
function project(x, y, z) {
  const p = new THREE.Vector3(x, y, z).project(camera);
  return [((p.x + 1) / 2) * canvas.width, ((1 - p.y) / 2) * canvas.height];
}

resize();
window.addEventListener('resize', () => {
  resize();
  render();
});
new GLTFLoader().parse(
  decodeBase64(document.getElementById('glb').textContent),
  '',
  (gltf) => {
    scene.add(gltf.scene);
    gltf.scene.traverse((o) => {
      if (o.isMesh && o.morphTargetDictionary && !mesh) mesh = o;
    });
    if (!mesh) throw new Error('the GLB has no mesh with morph targets');
    const box = new THREE.Box3().setFromObject(gltf.scene);
    const center = box.getCenter(new THREE.Vector3());
    const size = box.getSize(new THREE.Vector3()).length();
    controls.target.copy(center);
    camera.position.copy(center).add(new THREE.Vector3(0, 0, 1.5 * size));
    camera.near = size / 100;
    camera.far = size * 10;
    camera.updateProjectionMatrix();
    controls.update();
    buildSliders();
    setupPlayer();
    render();
    window.toonliftViewer = { setWeight, frameTime, render, project, names: Object.keys(mesh.morphTargetDictionary) };
    status.textContent = `${Object.keys(mesh.morphTargetDictionary).length} expressions`;
    document.body.dataset.ready = '1';
  },
  (err) => {
    status.textContent = 'could not read the avatar: ' + err;
    console.error(err);
  }
);
