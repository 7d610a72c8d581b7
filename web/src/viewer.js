// The 3D avatar viewer: three.js from npm, orbit and zoom, "reset to front", and GLB swapping for the fit map.
import { AmbientLight, Box3, Color, DirectionalLight, PerspectiveCamera, Scene, Vector3, WebGLRenderer } from "three";
import { GLTFLoader } from "three/examples/jsm/loaders/GLTFLoader.js";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";

export class WebGLMissing extends Error {}

export class Viewer {
  constructor(container) {
    const probe = document.createElement("canvas");
    if (!(probe.getContext("webgl2") || probe.getContext("webgl"))) {
      throw new WebGLMissing("This browser cannot show 3D (WebGL is off or unavailable).");
    }
    this.container = container;
    this.renderer = new WebGLRenderer({ antialias: true, preserveDrawingBuffer: true });
    this.renderer.setPixelRatio(Math.min(2, window.devicePixelRatio || 1));
    this.scene = new Scene();
    this.scene.background = new Color(0xe9edf1);
    this.scene.add(new AmbientLight(0xffffff, 1.4));
    const key = new DirectionalLight(0xffffff, 2.2);
    key.position.set(1.5, 2.5, 3);
    const rim = new DirectionalLight(0xffffff, 0.9);
    rim.position.set(-2, 1.5, -2.5);
    this.scene.add(key, rim);
    this.camera = new PerspectiveCamera(30, 1, 0.05, 50);
    this.controls = new OrbitControls(this.camera, this.renderer.domElement);
    this.controls.enableDamping = false;
    this.controls.minDistance = 0.6;
    this.controls.maxDistance = 8;
    this.controls.addEventListener("change", () => this.render());
    container.replaceChildren(this.renderer.domElement);
    this.loader = new GLTFLoader();
    this.model = null;
    new ResizeObserver(() => this.resize()).observe(container);
    this.resize();
  }

  resize() {
    const { clientWidth: w, clientHeight: h } = this.container;
    if (!w || !h) return;
    this.renderer.setSize(w, h);
    this.camera.aspect = w / h;
    this.camera.updateProjectionMatrix();
    this.render();
  }

  render() {
    this.renderer.render(this.scene, this.camera);
  }

  /** Load a GLB (the avatar, or its fit-map colouring) in place of the current model. */
  async show(url, { keepView = false } = {}) {
    const gltf = await this.loader.loadAsync(url);
    if (this.model) {
      // the same body from another file (the fit map's colouring) may sit at another origin: keep it
      // where the shopper was looking
      const was = new Box3().setFromObject(this.model).getCenter(new Vector3());
      const now = new Box3().setFromObject(gltf.scene).getCenter(new Vector3());
      if (keepView) gltf.scene.position.add(was.sub(now));
      this.scene.remove(this.model);
    }
    this.model = gltf.scene;
    this.scene.add(this.model);
    if (!keepView) this.resetView();
    this.render();
    this.container.dataset.loaded = url;
  }

  /** Face the avatar from the front, whole body in view. */
  resetView() {
    if (!this.model) return;
    const box = new Box3().setFromObject(this.model);
    const centre = box.getCenter(new Vector3());
    const height = box.max.y - box.min.y;
    const distance = (height / 2) / Math.tan((this.camera.fov * Math.PI) / 360) * 1.15;
    this.camera.position.set(centre.x, centre.y, centre.z + distance);
    this.controls.target.copy(centre);
    this.controls.update();
    this.render();
  }
}
